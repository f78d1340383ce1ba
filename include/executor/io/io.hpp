// Umbrella header: executor's asynchronous I/O (files, TCP, UDP, buffered streams, framing).
// See docs/io.md.
#pragma once

#include <executor/io/acceptor.hpp>
#include <executor/io/buf_reader.hpp>
#include <executor/io/buf_writer.hpp>
#include <executor/io/buffer.hpp>
#include <executor/io/error.hpp>
#include <executor/io/file.hpp>
#include <executor/io/framing.hpp>
#include <executor/io/operation.hpp>
#include <executor/io/receiver.hpp>
#include <executor/io/socket_address.hpp>
#include <executor/io/stream.hpp>
#include <executor/io/tcp_listener.hpp>
#include <executor/io/tcp_stream.hpp>
#include <executor/io/udp_socket.hpp>
