#!/usr/bin/env python3
"""Drives the FFI test shim (tests/ffi/shim) from Python through ctypes: the C API of executor
from another language. Usage: test_ffi.py path/to/libffi_shim.so"""
import ctypes
import select
import sys
import threading
import time
import unittest

LIB = None


class SpinTask(ctypes.Structure):
    _fields_ = [("limit", ctypes.c_int64)]


class FallibleTask(ctypes.Structure):
    _fields_ = [("mode", ctypes.c_int32), ("value", ctypes.c_int32)]


class FallibleResult(ctypes.Structure):
    _fields_ = [("doubled", ctypes.c_int32)]


class SleeperTask(ctypes.Structure):
    _fields_ = [("ms", ctypes.c_int32)]


class NothingTask(ctypes.Structure):
    _fields_ = [("unused", ctypes.c_int32)]


CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def declare(prefix, task_type, result_type):
    """Sets the ctypes signatures of one EXECUTOR_EXPORT_TASK family."""
    h = ctypes.c_void_p
    f = {name: getattr(LIB, f"{prefix}_{name}") for name in
         ("spawn", "wait", "poll", "cancel", "cancelled", "handle_destroy", "result_destroy")}
    f["spawn"].argtypes, f["spawn"].restype = [ctypes.POINTER(task_type)], h
    rp = ctypes.POINTER(result_type) if result_type is not None else ctypes.c_void_p
    for name in ("wait", "poll"):
        f[name].argtypes, f[name].restype = [h], rp
    for name in ("cancel", "cancelled"):
        f[name].argtypes, f[name].restype = [h], ctypes.c_int
    f["handle_destroy"].argtypes, f["handle_destroy"].restype = [h], None
    f["result_destroy"].argtypes, f["result_destroy"].restype = [rp], None
    return f


def setup(path):
    global LIB, SPIN, FAL, SLEEP, NOTHING
    LIB = ctypes.CDLL(path)
    LIB.executor_last_error_length.restype = ctypes.c_size_t
    LIB.executor_last_error_message.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    LIB.executor_last_error_message.restype = ctypes.c_int
    LIB.executor_runtime_new.argtypes, LIB.executor_runtime_new.restype = [ctypes.c_uint], ctypes.c_void_p
    LIB.executor_runtime_free.argtypes, LIB.executor_runtime_free.restype = [ctypes.c_void_p], ctypes.c_int
    LIB.executor_task_is_finished.argtypes = [ctypes.c_void_p]
    LIB.executor_task_eventfd.argtypes = [ctypes.c_void_p]
    LIB.executor_task_set_callback.argtypes = [ctypes.c_void_p, CALLBACK, ctypes.c_void_p]
    LIB.shim_spin_started.restype = ctypes.c_int64
    LIB.shim_sleeper_started.restype = ctypes.c_int64
    SPIN = declare("spin", SpinTask, ctypes.c_int64)
    FAL = declare("fallible", FallibleTask, FallibleResult)
    SLEEP = declare("sleeper", SleeperTask, ctypes.c_int32)
    NOTHING = declare("nothing", NothingTask, None)


def last_error():
    n = LIB.executor_last_error_length()
    if n == 0:
        return ""
    buf = ctypes.create_string_buffer(n)
    assert LIB.executor_last_error_message(buf, n) == n
    return buf.value.decode()


class FfiTest(unittest.TestCase):
    def spawn_running(self, family, started, task):
        """Spawns and waits until the task runs (a cancel before that means it never runs)."""
        before = started()
        h = family["spawn"](ctypes.byref(task))
        deadline = time.monotonic() + 10
        while started() == before and time.monotonic() < deadline:
            time.sleep(0.001)
        self.assertGreater(started(), before)
        return h

    def test_spin_cancel_wait(self):
        h = self.spawn_running(SPIN, LIB.shim_spin_started, SpinTask(0))
        self.assertIsNotNone(h)
        self.assertFalse(SPIN["poll"](h))
        self.assertEqual(last_error(), "")
        self.assertEqual(SPIN["cancelled"](h), 0)
        self.assertEqual(SPIN["cancel"](h), 0)
        self.assertEqual(SPIN["cancelled"](h), 1)
        r = SPIN["wait"](h)
        self.assertTrue(r, last_error())
        self.assertGreaterEqual(r.contents.value, 0)
        SPIN["result_destroy"](r)

    def test_poll_until_done(self):
        h = SPIN["spawn"](ctypes.byref(SpinTask(5000)))
        deadline = time.monotonic() + 10
        r = SPIN["poll"](h)
        while not r and last_error() == "" and time.monotonic() < deadline:
            time.sleep(0.001)
            r = SPIN["poll"](h)
        self.assertTrue(r)
        self.assertEqual(r.contents.value, 5000)
        SPIN["result_destroy"](r)
        self.assertFalse(SPIN["poll"](h))
        self.assertIn("already taken", last_error())
        SPIN["handle_destroy"](h)

    def test_failures(self):
        r = FAL["wait"](FAL["spawn"](ctypes.byref(FallibleTask(0, 4))))
        self.assertEqual(r.contents.doubled, 8)
        FAL["result_destroy"](r)
        self.assertFalse(FAL["wait"](FAL["spawn"](ctypes.byref(FallibleTask(1, 0)))))
        self.assertEqual(last_error(), "fallible: asked to throw")
        self.assertFalse(FAL["wait"](FAL["spawn"](ctypes.byref(FallibleTask(2, 0)))))
        self.assertEqual(last_error(), "INVALID_ARGUMENT: fallible: asked to fail")

    def test_void_result(self):
        r = NOTHING["wait"](NOTHING["spawn"](ctypes.byref(NothingTask(0))))
        self.assertTrue(r)
        NOTHING["result_destroy"](r)

    def test_bad_input(self):
        self.assertIsNone(SPIN["spawn"](None))
        self.assertIn("the task is NULL", last_error())
        self.assertFalse(SPIN["wait"](None))
        self.assertIn("NULL", last_error())
        h = SPIN["spawn"](ctypes.byref(SpinTask(0)))
        SPIN["handle_destroy"](h)  # running: cancelled, then detached
        self.assertEqual(last_error(), "")
        SPIN["handle_destroy"](h)
        self.assertIn("unknown task handle", last_error())
        self.assertEqual(SPIN["cancel"](h), -1)

    def test_last_error_is_per_thread(self):
        SPIN["spawn"](None)
        seen = []
        t = threading.Thread(target=lambda: seen.append(LIB.executor_last_error_length()))
        t.start()
        t.join()
        self.assertEqual(seen, [0])
        self.assertNotEqual(last_error(), "")

    def test_eventfd_and_callback(self):
        calls = []
        cb = CALLBACK(lambda _: calls.append(1))
        h = self.spawn_running(SPIN, LIB.shim_spin_started, SpinTask(0))
        self.assertEqual(LIB.executor_task_set_callback(h, cb, None), 0)
        fd = LIB.executor_task_eventfd(h)
        self.assertGreaterEqual(fd, 0)
        self.assertEqual(select.select([fd], [], [], 0)[0], [])
        SPIN["cancel"](h)
        self.assertEqual(select.select([fd], [], [], 10)[0], [fd])
        self.assertEqual(LIB.executor_task_is_finished(h), 1)
        SPIN["result_destroy"](SPIN["wait"](h))  # wait also waits for a running callback
        self.assertEqual(calls, [1])

    def test_coroutine_tasks_and_runtimes(self):
        rt = LIB.executor_runtime_new(2)
        self.assertTrue(rt, last_error())
        h = self.spawn_running(SLEEP, LIB.shim_sleeper_started, SleeperTask(60000))
        self.assertEqual(SLEEP["cancel"](h), 0)
        r = SLEEP["wait"](h)
        self.assertEqual(r.contents.value, 1)
        SLEEP["result_destroy"](r)
        self.assertEqual(LIB.executor_runtime_free(rt), 0)
        self.assertEqual(LIB.executor_runtime_free(rt), -1)
        self.assertIn("unknown runtime", last_error())
        r = SLEEP["wait"](SLEEP["spawn"](ctypes.byref(SleeperTask(1))))  # lazy runtime
        self.assertEqual(r.contents.value, 0)
        SLEEP["result_destroy"](r)

    def test_cancel_before_start(self):
        for _ in range(20):
            h = SPIN["spawn"](ctypes.byref(SpinTask(0)))
            SPIN["cancel"](h)
            r = SPIN["wait"](h)
            if not r:
                self.assertEqual(last_error(), "task was cancelled before it started")
            SPIN["result_destroy"](r)

    def test_many_threads(self):
        errors = []

        def worker(n):
            for i in range(30):
                h = SPIN["spawn"](ctypes.byref(SpinTask(0 if i % 2 else 100)))
                SPIN["cancel"](h)
                r = SPIN["wait"](h)
                if not r:
                    errors.append(last_error())
                SPIN["result_destroy"](r)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all("cancelled" in e for e in errors), errors)


if __name__ == "__main__":
    setup(sys.argv[1])
    unittest.main(argv=sys.argv[:1], verbosity=2)
