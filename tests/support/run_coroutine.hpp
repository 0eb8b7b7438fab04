#pragma once
// Runs one coroutine to completion on an io_context and returns its value;
// an exception inside it is rethrown here, so a test fails with it.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>

namespace qtriage::testing {

template <class T>
T run_coroutine(boost::asio::io_context& io, boost::asio::awaitable<T> coroutine) {
  std::optional<T> value;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(coroutine), [&](std::exception_ptr e, T result) {
    failure = e;
    if (!e) value.emplace(std::move(result));
    io.stop();
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*value);
}

}  // namespace qtriage::testing
