// Which local address other hosts can reach this worker at, for multi-host
// runs: the source address the kernel would use to reach the master.
//
//   TERN_ASSIGN_OR_RETURN(std::string ip, LocalAddressToward("10.0.0.1:48150"));
//   // "10.0.0.2": bind data listeners on 0.0.0.0 and advertise this
//
// Thread-safety: reentrant.
#ifndef TERN_TRAIN_HOST_ADDRESS_H_
#define TERN_TRAIN_HOST_ADDRESS_H_

#include <string>

#include "tern/status.h"

namespace tern::train {

// Splits "host:port" or "[v6]:port". kInvalidArgument if malformed.
Result<std::pair<std::string, std::string>> SplitHostPort(const std::string& address);

// The local IP address (numeric) of the route towards `address`'s host,
// found by connect() on a UDP socket (no packet is sent). kInvalidArgument
// for a malformed address, kNotFound if the host does not resolve,
// kUnavailable if there is no route.
Result<std::string> LocalAddressToward(const std::string& address);

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(const std::string& host);

}  // namespace tern::train

#endif  // TERN_TRAIN_HOST_ADDRESS_H_
