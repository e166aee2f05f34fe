#include "app/acme_manager.hpp"

#include "app/acme_client.hpp"
#include "app/acme_crypto.hpp"
#include "http/tls_context.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mercure {

namespace {

constexpr std::chrono::seconds kFirstRetry{60};
constexpr std::chrono::seconds kLongestRetry{3600};
constexpr std::int64_t kDay = 86'400;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string errno_text() {
  return std::strerror(errno);
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::not_found, "cannot read \"" + path + "\": " + errno_text()};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to `path` through a temporary file, synced, then renamed: a crash leaves the
// old file or the new one, never half of one.
Result<void> write_file(const std::string& path, const std::string& text, mode_t mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error{Errc::internal, "cannot write \"" + temporary + "\": " + errno_text()};
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = errno_text();
      ::close(fd);
      ::unlink(temporary.c_str());
      return Error{Errc::internal, "cannot write \"" + temporary + "\": " + why};
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temporary.c_str());
    return Error{Errc::internal, "cannot write \"" + path + "\": " + why};
  }
  return {};
}

std::string date_of(std::int64_t seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

}  // namespace

AcmeManager::AcmeManager(AcmeSettings settings, std::shared_ptr<TlsCertificates> certificates,
                         std::shared_ptr<AcmeChallenges> challenges)
    : settings_(std::move(settings)),
      certificates_(std::move(certificates)),
      challenges_(std::move(challenges)),
      cert_path_(settings_.dir + "/" + settings_.domain + ".crt"),
      key_path_(settings_.dir + "/" + settings_.domain + ".key") {}

AcmeManager::~AcmeManager() {
  stop();
}

std::int64_t AcmeManager::renewal_time(std::int64_t not_before, std::int64_t not_after) {
  return not_after - std::max<std::int64_t>(not_after - not_before, 0) / 3;
}

Result<void> AcmeManager::prepare() {
  if (::mkdir(settings_.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Error{Errc::bad_request, "ACME_DIR \"" + settings_.dir + "\": cannot create the directory: " + errno_text()};
  }
  struct stat st {};
  if (::stat(settings_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || ::access(settings_.dir.c_str(), W_OK) != 0) {
    return Error{Errc::bad_request, "ACME_DIR \"" + settings_.dir + "\": not a writable directory"};
  }
  auto chain = read_text(cert_path_);
  if (!chain) return {};  // nothing stored: obtained once the listener runs
  auto validity = acme::certificate_validity(*chain);
  if (!validity || validity->not_after <= now_seconds()) {
    spdlog::warn("acme: the stored certificate \"{}\" is {}; obtaining a new one", cert_path_,
                 validity ? "expired" : "not readable");
    return {};
  }
  try {
    certificates_->install(cert_path_, key_path_);
  } catch (const TlsSetupError& e) {
    spdlog::warn("acme: the stored certificate is not usable ({}); obtaining a new one", e.what());
    return {};
  }
  renew_at_ = renewal_time(validity->not_before, validity->not_after);
  spdlog::info("acme: using the stored certificate for \"{}\", valid until {} (renewed from {})", settings_.domain,
               date_of(validity->not_after), date_of(renew_at_));
  return {};
}

void AcmeManager::start() {
  thread_ = std::thread([this] { run(); });
}

void AcmeManager::stop() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool AcmeManager::stopping() const {
  const std::lock_guard lock(mutex_);
  return stop_;
}

void AcmeManager::run() {
  std::chrono::seconds retry = kFirstRetry;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // Checked at least daily, so a clock that jumps does not leave a renewal for months.
      const std::int64_t wait = std::clamp<std::int64_t>(renew_at_ - now_seconds(), 0, kDay);
      wake_.wait_for(lock, std::chrono::seconds(wait), [this] { return stop_; });
      if (stop_) return;
      if (now_seconds() < renew_at_) continue;
    }
    if (auto ok = obtain(); !ok) {
      if (stopping()) return;
      spdlog::error("acme: cannot obtain a certificate for \"{}\": {}; trying again in {} s", settings_.domain,
                    ok.error().reason, retry.count());
      const std::lock_guard lock(mutex_);
      renew_at_ = now_seconds() + retry.count();
      retry = std::min(retry * 2, kLongestRetry);
      continue;
    }
    retry = kFirstRetry;
  }
}

Result<void> AcmeManager::obtain() {
  const std::string account_path = settings_.dir + "/account.key";
  EvpPkeyPtr account;
  if (auto stored = read_text(account_path)) {
    auto key = load_private_key_pem(*stored);
    if (!key) return Error{Errc::internal, "\"" + account_path + "\": " + key.error().reason};
    account = std::move(*key);
  } else {
    auto key = acme::generate_key();
    if (!key) return key.error();
    auto pem = acme::private_key_pem(key->get());
    if (!pem) return pem.error();
    if (auto written = write_file(account_path, *pem, 0600); !written) return written.error();
    account = std::move(*key);
  }
  auto cert_key = acme::generate_key();
  if (!cert_key) return cert_key.error();

  acme::Client client({settings_.directory_url, settings_.ca_root_file, settings_.email}, std::move(account),
                      [this] { return stopping(); });
  const acme::ChallengeHooks hooks{
      [this](const std::string& domain, const std::string& key_authorization) -> Result<void> {
        auto cert = acme::challenge_certificate(domain, key_authorization);
        if (!cert) return cert.error();
        try {
          challenges_->set(domain, cert->cert_pem, cert->key_pem);
        } catch (const TlsSetupError& e) {
          return Error{Errc::internal, e.what()};
        }
        return {};
      },
      [this](const std::string& domain) { challenges_->erase(domain); },
  };
  spdlog::info("acme: obtaining a certificate for \"{}\" from {}", settings_.domain, settings_.directory_url);
  auto chain = client.obtain(settings_.domain, cert_key->get(), hooks);
  if (!chain) return chain.error();
  auto validity = acme::certificate_validity(*chain);
  if (!validity) return validity.error();
  auto key_pem = acme::private_key_pem(cert_key->get());
  if (!key_pem) return key_pem.error();
  // The key first: a crash between the two renames leaves a chain whose key does not match,
  // which the next start-up sees (and obtains a new certificate), never a lost key.
  if (auto written = write_file(key_path_, *key_pem, 0600); !written) return written.error();
  if (auto written = write_file(cert_path_, *chain, 0644); !written) return written.error();
  try {
    certificates_->install(cert_path_, key_path_);
  } catch (const TlsSetupError& e) {
    return Error{Errc::internal, std::string("the certificate obtained is not usable: ") + e.what()};
  }
  {
    const std::lock_guard lock(mutex_);
    renew_at_ = renewal_time(validity->not_before, validity->not_after);
  }
  spdlog::info("acme: obtained a certificate for \"{}\", valid until {} (renewed from {})", settings_.domain,
               date_of(validity->not_after), date_of(renew_at_));
  return {};
}

}  // namespace mercure
