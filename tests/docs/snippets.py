#!/usr/bin/env python3
"""Compiles every C/C++ snippet of the documentation against an installed executor.

Sources: each fenced ```cpp / ```c++ / ```c block in README.md and docs/*.md, and each
`// Example:` comment section of the public headers (include/executor/**.hpp: the `//   ` lines
that follow it). Each snippet becomes one translation unit, compiled with -fsyntax-only and
-Werror (an ignored [[nodiscard]] fails it).

How a snippet is wrapped is written next to it:
  - Markdown: an HTML comment right before the fence (invisible when rendered),
        <!-- snippet: MODE
        declarations the snippet assumes (C++ or C, placed before it)
        -->
  - Headers: the HEADER_EXAMPLES table below (a header's one Example).
In body mode, declarations after a line `---` open the coroutine's body instead (locals the
snippet uses: a lambda cannot capture a global by reference).
MODE is one of
  file       the snippet is a whole translation unit (the default);
  body       statements of a coroutine: placed in `executor::Task<void> f() { ... co_return; }`;
  cortexm    a whole translation unit for the Cortex-M port (compiled with arm-none-eabi-g++
             when it is installed, skipped with a note otherwise);
  c          a C translation unit (the default for ```c blocks).
Every snippet gets `#include <executor/executor.hpp>` first (C: <executor/ffi.h>), then its
declarations. A block named by a `<!-- snippet: file NAME -->` comment is also written as NAME
next to the others, so a later block can #include it (docs/ffi.md's counter.h).

Also checks that every relative link in README.md and docs/*.md names a file of the repository.

Usage: snippets.py --source DIR --include DIR [--cxx C++] [--cc CC] [--arm-cxx ARMCXX]
                   [--only PATTERN] [--list]
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

CXX_FLAGS = ["-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-Wno-unused",
             "-Wno-unused-parameter"]
# GCC takes a snippet named by #line for a header, and then warns about its lambdas in coroutine
# frames (-Wsubobject-linkage).
GCC_CXX_FLAGS = ["-Wno-subobject-linkage"]
C_FLAGS = ["-std=c11", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-Wno-unused",
           "-Wno-unused-parameter"]
ARM_FLAGS = ["-std=c++20", "-fsyntax-only", "-mcpu=cortex-m3", "-mthumb", "-fno-exceptions",
             "-fno-rtti", "-DEXECUTOR_SINGLE_THREADED=1", "-Wall", "-Wextra", "-Werror",
             "-Wno-unused", "-Wno-unused-parameter"]

# Header examples: path -> (mode, declarations the example assumes).
HEADER_EXAMPLES = {
    "include/executor/cortexm/sleep.hpp": (
        "cortexm-body", "#include <executor/cortexm/executor.hpp>\n"
                        "#include <executor/cortexm/sleep.hpp>\n"),
    "include/executor/runtime.hpp": ("function", "executor::Task<int> compute();\n"),
    "include/executor/cancellation_token.hpp": (
        "body", "struct Server { void close_listener(); };\n"
                "---\nexecutor::CancellationToken token;\nServer server;\n"),
    "include/executor/task.hpp": ("file", ""),
    "include/executor/io/error.hpp": (
        "body", "#include <cerrno>\n#include <executor/io/io.hpp>\nusing namespace executor;\n"
                "io::TcpStream& stream();\nio::Buffer& buffer();\n"
                "#define stream stream()\n#define buf buffer()\n"),
    "include/executor/io/buffer.hpp": (
        "body", "#include <executor/io/io.hpp>\nusing namespace executor;\n"
                "io::TcpStream& stream_ref();\n#define stream stream_ref()\n"
                "std::size_t parse(std::span<const std::byte>);\n"),
    "include/executor/io/stream.hpp": (
        "file", "#include <executor/io/io.hpp>\n#include <executor/io/stream.hpp>\n"
                "using namespace executor;\n"),
    "include/executor/sync/mpsc.hpp": (
        "body", "#include <executor/sync/mpsc.hpp>\nstruct Job {};\nJob make_job();\n"
                "void run(const Job&);\n"),
}


class Snippet:
    def __init__(self, where, lang, mode, context, code, name=None):
        self.where, self.lang, self.mode = where, lang, mode
        self.context, self.code, self.name = context, code, name


FENCE = re.compile(r"^```([A-Za-z0-9+]*)\s*$")
NOTE = re.compile(r"<!--\s*snippet:\s*([a-z-]+)(?:[ \t]+(\S+))?[ \t]*\n?(.*?)-->", re.S)


def markdown_snippets(root, rel):
    lines = open(os.path.join(root, rel), encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1).lower(), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        code = "\n".join(lines[i + 1:j]) + "\n"
        i = j + 1
        if lang not in ("cpp", "c++", "c"):
            continue
        # The annotation: the nearest non-blank text before the fence, if it is a snippet note.
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mode, name, context = ("c" if lang == "c" else "file"), None, ""
        if k >= 0 and lines[k].rstrip().endswith("-->"):
            b = k
            while b >= 0 and "<!--" not in lines[b]:
                b -= 1
            note = NOTE.search("\n".join(lines[b:k + 1]))
            if note:
                mode, name, context = note.group(1), note.group(2), note.group(3)
        out.append(Snippet(f"{rel}:{start + 1}", "c" if lang == "c" else "c++", mode, context,
                           code, name))
    return out


def header_snippets(root):
    out = []
    inc = os.path.join(root, "include")
    for d, _, files in os.walk(inc):
        for f in sorted(files):
            if not f.endswith((".hpp", ".h")):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            lines = open(path, encoding="utf-8").read().split("\n")
            for n, line in enumerate(lines):
                if line.strip() != "// Example:":
                    continue
                body = []
                for l in lines[n + 1:]:
                    if not l.startswith("//   "):
                        break
                    body.append(l[5:])
                if rel not in HEADER_EXAMPLES:
                    raise SystemExit(f"{rel}:{n + 1}: an Example: without an entry in "
                                     f"HEADER_EXAMPLES (tests/docs/snippets.py)")
                mode, context = HEADER_EXAMPLES[rel]
                out.append(Snippet(f"{rel}:{n + 1}", "c++", mode, context, "\n".join(body) + "\n"))
    return out


def translation_unit(s):
    context, _, locals_ = ("\n" + s.context).partition("\n---\n")
    if s.lang == "c" or s.mode == "c":
        return "#include <executor/ffi.h>\n" + context + "\n#line 1\n" + s.code, "c"
    if s.mode.startswith("cortexm"):
        head = context
        if s.mode == "cortexm-body":
            return (head + "executor::Task<void> executor_snippet() {\n" + locals_ +
                    "\n#line 1\n" + s.code +
                    "co_return;\n}\n"), "arm"
        return head + "\n#line 1\n" + s.code, "arm"
    head = "#include <executor/executor.hpp>\n" + context + "\n"
    if s.mode == "file":
        return head + "#line 1\n" + s.code, "c++"
    if s.mode == "body":
        return (head + "executor::Task<void> executor_snippet() {\n" + locals_ +
                "\n#line 1\n" + s.code + "co_return;\n}\n"), "c++"
    if s.mode == "function":  # plain (non-coroutine) statements
        return head + "void executor_snippet() {\n#line 1\n" + s.code + "}\n", "c++"
    raise SystemExit(f"{s.where}: unknown snippet mode '{s.mode}'")


def check_links(root, rels):
    root = os.path.abspath(root)
    bad = []
    link = re.compile(r"\]\(([^)\s]+)\)")
    for rel in rels:
        text = open(os.path.join(root, rel), encoding="utf-8").read()
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        for m in link.finditer(text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(os.path.join(root, rel)),
                                                 target.split("#")[0]))
            inside = os.path.commonpath([path, os.path.abspath(root)]) == os.path.abspath(root)
            if not inside or not os.path.exists(path):
                bad.append(f"{rel}: link to '{target}', not a file of the repository")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--include", required=True, help="the installed include folder")
    ap.add_argument("--cxx", default="c++")
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--arm-cxx", default="")
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    root = os.path.abspath(args.source)
    version = subprocess.run([args.cxx, "--version"], capture_output=True, text=True).stdout
    cxx_flags = CXX_FLAGS + ([] if "clang" in version else GCC_CXX_FLAGS)

    docs = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(root, "docs"))
                                  if f.endswith(".md"))
    snippets = []
    for rel in docs:
        snippets += markdown_snippets(root, rel)
    snippets += header_snippets(root)
    snippets = [s for s in snippets if args.only in s.where]
    if args.list:
        for s in snippets:
            print(s.where, s.lang, s.mode, s.name or "")
        return 0

    failures = check_links(root, docs)
    work = tempfile.mkdtemp(prefix="executor-snippets-")
    for s in snippets:  # named blocks first: others include them
        if s.name:
            with open(os.path.join(work, s.name), "w") as f:
                f.write(s.code)

    def compile_one(index_snippet):
        index, s = index_snippet
        tu, kind = translation_unit(s)
        ext = ".c" if kind == "c" else ".cpp"
        path = os.path.join(work, f"snippet{index}{ext}")
        with open(path, "w") as f:
            f.write(tu.replace("#line 1\n", f'#line 1 "{s.where}"\n', 1))
        if kind == "arm":
            if not args.arm_cxx:
                return s, None, "skipped (no arm-none-eabi-g++)"
            cmd = [args.arm_cxx] + ARM_FLAGS + ["-I", args.include,
                                                "-I", os.path.join(root, "runtime/cortexm")]
        elif kind == "c":
            cmd = [args.cc] + C_FLAGS + ["-I", args.include, "-I", work]
        else:
            cmd = [args.cxx] + cxx_flags + ["-I", args.include, "-I", work]
        r = subprocess.run(cmd + [path], capture_output=True, text=True)
        return s, r.returncode, r.stdout + r.stderr

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for s, rc, out in pool.map(compile_one, enumerate(snippets)):
            if rc is None:
                print(f"{s.where}: {out}")
            elif rc != 0:
                failures.append(f"{s.where}: the {s.mode} snippet does not compile:\n{out}")
            else:
                print(f"{s.where}: ok ({s.mode})")
    for f in failures:
        print("FAILED:", f)
    print(f"{len(snippets)} snippets, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
