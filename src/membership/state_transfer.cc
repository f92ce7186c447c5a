#include "membership/state_transfer.h"

#include <algorithm>

#include "membership/codes.h"
#include "membership/frames.h"
#include "net/blocking.h"
#include "net/tcp.h"
#include "tern/shared_state.h"
#include "util/hash.h"
#include "wire/frame.h"
#include "wire/messages.h"

namespace tern::membership {
namespace {

Status Send(net::Conn& conn, CpFrame type, std::string_view payload, uint64_t* counter,
            Deadline deadline) {
  TERN_RETURN_IF_ERROR(net::SendFrame(conn, FrameCode(type), payload, deadline));
  *counter += wire::kFrameHeaderSize + payload.size();
  return OkStatus();
}

Result<net::Frame> Recv(net::Conn& conn, CpFrame type, uint32_t max, uint64_t* counter,
                        Deadline deadline) {
  TERN_ASSIGN_OR_RETURN(net::Frame f, net::RecvFrame(conn, max, deadline));
  *counter += wire::kFrameHeaderSize + f.payload.size();
  if (f.type != FrameCode(type)) {
    return DataLossError("state transfer from " + conn.peer() + ": frame type " +
                         std::to_string(f.type) + " where " +
                         std::to_string(FrameCode(type)) + " was expected");
  }
  return f;
}

}  // namespace

Status ServeFetch(net::Conn& conn, const proto::FetchRequest& request, const LookupFn& lookup,
                  size_t chunk_bytes, uint64_t* bytes_sent, Deadline deadline) {
  for (const std::string& name : request.names()) {
    std::string_view bytes;
    Status found = lookup(name, &bytes);
    proto::FetchHeader h;
    h.set_name(name);
    if (!found.ok()) {
      h.set_code(static_cast<int32_t>(found.code()));
      h.set_message(std::string(found.message()));
      return Send(conn, CpFrame::kFetchHeader, h.SerializeAsString(), bytes_sent, deadline);
    }
    h.set_nbytes(bytes.size());
    h.set_hash(Xxh3(bytes.data(), bytes.size()));
    TERN_RETURN_IF_ERROR(Send(conn, CpFrame::kFetchHeader, h.SerializeAsString(), bytes_sent,
                              deadline));
    for (size_t at = 0; at < bytes.size(); at += chunk_bytes) {
      TERN_RETURN_IF_ERROR(Send(conn, CpFrame::kFetchData,
                                bytes.substr(at, std::min(chunk_bytes, bytes.size() - at)),
                                bytes_sent, deadline));
    }
  }
  return OkStatus();
}

Status FetchFrom(const FetchTarget& donor, const net::HandshakeParams& params, uint64_t round,
                 const std::vector<proto::Fetch>& fetches,
                 const std::function<Status(const proto::Fetch&, std::string&&)>& install,
                 uint64_t* bytes_received, Deadline deadline) {
  TERN_ASSIGN_OR_RETURN(std::unique_ptr<net::Conn> conn, net::TcpConnect(donor.address, deadline));
  TERN_RETURN_IF_ERROR(net::DialHandshake(conn, params, donor.peer_id, 0, deadline));
  proto::FetchRequest req;
  req.set_round(round);
  for (const proto::Fetch& f : fetches) req.add_names(f.name());
  uint64_t sent = 0;
  TERN_RETURN_IF_ERROR(Send(*conn, CpFrame::kFetchRequest, req.SerializeAsString(), &sent, deadline));
  for (const proto::Fetch& f : fetches) {
    TERN_ASSIGN_OR_RETURN(net::Frame hf, Recv(*conn, CpFrame::kFetchHeader, wire::kMaxControlFrame,
                                              bytes_received, deadline));
    proto::FetchHeader h;
    if (!h.ParseFromString(hf.payload)) return DataLossError("malformed fetch header");
    if (h.code() != 0) {
      return StatusFromWire(h.code(), "peer " + std::to_string(donor.peer_id) + " could not send '" +
                                    f.name() + "': " + h.message());
    }
    if (h.name() != f.name() || h.nbytes() != f.nbytes() || h.hash() != f.hash()) {
      return DataLossError("peer " + std::to_string(donor.peer_id) + " sent '" + h.name() +
                           "' (" + std::to_string(h.nbytes()) + " bytes) that is not the elected '" +
                           f.name() + "'");
    }
    std::string bytes;
    bytes.reserve(f.nbytes());  // bounded by the caller's check of the plan
    while (bytes.size() < f.nbytes()) {
      TERN_ASSIGN_OR_RETURN(net::Frame df, Recv(*conn, CpFrame::kFetchData, kMaxDataFrame,
                                                bytes_received, deadline));
      if (df.payload.size() > f.nbytes() - bytes.size()) {
        return DataLossError("peer " + std::to_string(donor.peer_id) + " sent too many bytes");
      }
      bytes += df.payload;
    }
    if (Xxh3(bytes.data(), bytes.size()) != f.hash()) {
      return DataLossError("entry '" + f.name() + "' from peer " + std::to_string(donor.peer_id) +
                           " does not hash to the elected value");
    }
    TERN_RETURN_IF_ERROR(install(f, std::move(bytes)));
  }
  conn->Close();
  return OkStatus();
}

}  // namespace tern::membership
