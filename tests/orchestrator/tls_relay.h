// An attacker on the path, for tests: a relay on loopback that accepts connections, opens one to the
// coordinator for each, and passes TLS records both ways, showing each record to `tamper` first, which may
// record it, change it, or drop the connection. It knows no token.
#pragma once

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cfm::test {

class TlsRelay {
 public:
  enum class Direction { ToCoordinator, ToClient };
  // Sees one whole record (5-byte header and body) and may change it in place; false cuts the connection.
  using Tamper = std::function<bool(Direction, std::string& record)>;

  TlsRelay(int coordinator_port, Tamper tamper)
      : coordinator_port_(static_cast<unsigned short>(coordinator_port)), tamper_(std::move(tamper)) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    accepting_ = std::thread([this] { accept_loop(); });
  }

  // shutdown(2) wakes the threads blocked in accept and read (closing a descriptor another thread waits on
  // would not, and could hand its number to someone else).
  ~TlsRelay() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    accepting_.join();  // from here on pumps_ no longer grows
    {
      std::lock_guard<std::mutex> lock(mutex_);
      boost::system::error_code ignored;
      for (auto& socket : sockets_) socket->shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    }
    for (std::thread& pump : pumps_) pump.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

  // Everything that went one way, over all connections, in order of arrival.
  std::string captured(Direction direction) {
    std::lock_guard<std::mutex> lock(mutex_);
    return direction == Direction::ToCoordinator ? to_coordinator_ : to_client_;
  }

 private:
  using Socket = std::shared_ptr<boost::asio::ip::tcp::socket>;

  void accept_loop() {
    for (;;) {
      auto client = std::make_shared<boost::asio::ip::tcp::socket>(io_);
      boost::system::error_code error;
      acceptor_.accept(*client, error);
      if (error) return;
      auto coordinator = std::make_shared<boost::asio::ip::tcp::socket>(io_);
      coordinator->connect({boost::asio::ip::make_address("127.0.0.1"), coordinator_port_}, error);
      if (error) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      sockets_.push_back(client);
      sockets_.push_back(coordinator);
      pumps_.emplace_back(
          [this, client, coordinator] { pump(client, coordinator, Direction::ToCoordinator); });
      pumps_.emplace_back([this, client, coordinator] { pump(coordinator, client, Direction::ToClient); });
    }
  }

  // Record by record until either side closes; then both sides are closed.
  void pump(const Socket& from, const Socket& to, Direction direction) {
    boost::system::error_code error;
    for (;;) {
      std::string record(5, '\0');
      boost::asio::read(*from, boost::asio::buffer(record), error);
      if (error) break;
      const std::size_t length =
          (static_cast<unsigned char>(record[3]) << 8) | static_cast<unsigned char>(record[4]);
      record.resize(5 + length);
      boost::asio::read(*from, boost::asio::buffer(&record[5], length), error);
      if (error) break;
      bool keep = tamper_(direction, record);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        (direction == Direction::ToCoordinator ? to_coordinator_ : to_client_) += record;
      }
      if (!keep) break;
      boost::asio::write(*to, boost::asio::buffer(record), error);
      if (error) break;
    }
    from->shutdown(boost::asio::ip::tcp::socket::shutdown_both, error);
    to->shutdown(boost::asio::ip::tcp::socket::shutdown_both, error);
  }

  unsigned short coordinator_port_;
  Tamper tamper_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::thread accepting_;
  std::mutex mutex_;
  std::vector<Socket> sockets_;
  std::vector<std::thread> pumps_;
  std::string to_coordinator_, to_client_;
};

}  // namespace cfm::test
