#pragma once
// A blocking HTTP/1.1 exchange with a program under test on loopback
// (qtriage's ops server, qtriage-sim's admin endpoints). Tests only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <string>

namespace qtriage::testing {

struct HttpAnswer {
  int status = 0;  // 0 when nothing answered
  std::string body;
};

// `origin` is "127.0.0.1:PORT" or "http://127.0.0.1:PORT[/...]".
inline HttpAnswer http_exchange(std::string origin, boost::beast::http::verb verb,
                                const std::string& target, const std::string& body = "") {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  if (const auto scheme = origin.find("//"); scheme != std::string::npos) {
    origin = origin.substr(scheme + 2);
  }
  origin = origin.substr(0, origin.find('/'));
  const auto colon = origin.rfind(':');
  try {
    const auto port = static_cast<unsigned short>(std::stoi(origin.substr(colon + 1)));
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address(origin.substr(0, colon)), port});
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, origin);
    if (!body.empty()) request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return {static_cast<int>(response.result_int()), response.body()};
  } catch (const std::exception&) {
    return {};
  }
}

inline HttpAnswer http_get(const std::string& origin, const std::string& target) {
  return http_exchange(origin, boost::beast::http::verb::get, target);
}

}  // namespace qtriage::testing
