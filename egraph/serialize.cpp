// JSON side of egraph/serialize.h (nlohmann::json stays out of the header).
#include "egraph/serialize.h"

#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>

namespace eqopt::eg {

namespace {

bool printable_payload(std::string_view p) {
  if (p.size() >= 2 && p[0] == '#' && p[1] == 'x') return false;
  int depth = 0;
  for (char ch : p) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) return false;
    if (c == '{') ++depth;
    if (c == '}' && --depth < 0) return false;
  }
  return depth == 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string id_string(const nlohmann::json& v, const std::string& what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<long long>());
  fail("egraph json: ", what, " must be a string");
}

}  // namespace

std::string serialized_op(std::string_view op, std::string_view payload) {
  std::string s(op);
  if (payload.empty()) return s;
  s += '{';
  if (printable_payload(payload)) {
    s += payload;
  } else {
    static const char* digits = "0123456789abcdef";
    s += "#x";
    for (char ch : payload) {
      const unsigned char c = static_cast<unsigned char>(ch);
      s += digits[c >> 4];
      s += digits[c & 15];
    }
  }
  s += '}';
  return s;
}

void split_serialized_op(std::string_view text, std::string& op, std::string& payload) {
  const size_t brace = text.find('{');
  if (brace == std::string_view::npos) {
    op.assign(text);
    payload.clear();
    return;
  }
  if (text.back() != '}') fail("egraph json: op '", text, "' has an unclosed '{'");
  op.assign(text.substr(0, brace));
  if (op.empty()) fail("egraph json: op '", text, "' has no name");
  std::string_view p = text.substr(brace + 1, text.size() - brace - 2);
  payload.clear();
  if (p.size() >= 2 && p[0] == '#' && p[1] == 'x') {
    p.remove_prefix(2);
    if (p.size() % 2) fail("egraph json: op '", text, "': odd number of hex digits in the payload");
    for (size_t i = 0; i < p.size(); i += 2) {
      const int hi = hex_value(p[i]), lo = hex_value(p[i + 1]);
      if (hi < 0 || lo < 0) fail("egraph json: op '", text, "': bad hex digit in the payload");
      payload += char(hi * 16 + lo);
    }
  } else {
    payload.assign(p);
  }
}

std::string serialized_to_json(const SerializedEGraph& s, int indent) {
  // An ordered_json object finds a key by linear search, so assigning node after node would be
  // quadratic in the number of nodes; entries are appended to its vector instead, and a repeated id
  // replaces the earlier entry's value in place, as assignment would.
  nlohmann::ordered_json nodes = nlohmann::ordered_json::object();
  using Entries = nlohmann::ordered_json::object_t::Container;
  Entries& entries = nodes.get_ref<nlohmann::ordered_json::object_t&>();
  std::unordered_map<std::string_view, size_t> position;
  for (const SerializedNode& n : s.nodes) {
    nlohmann::ordered_json j;
    j["op"] = n.op;
    j["children"] = n.children;
    j["eclass"] = n.eclass;
    j["cost"] = n.cost;
    if (auto [it, fresh] = position.emplace(n.id, entries.size()); !fresh)
      entries[it->second].second = std::move(j);
    else
      entries.emplace_back(n.id, std::move(j));
  }
  nlohmann::ordered_json root;
  root["nodes"] = std::move(nodes);
  root["root_eclasses"] = s.root_eclasses;
  root["class_data"] = nlohmann::ordered_json::object();
  return root.dump(indent);
}

SerializedEGraph serialized_from_json(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail("egraph json: not valid JSON: ", e.what());
  }
  if (!j.is_object()) fail("egraph json: the top level must be an object");
  auto nodes = j.find("nodes");
  if (nodes == j.end() || !nodes->is_object()) fail("egraph json: missing object \"nodes\"");
  SerializedEGraph s;
  for (auto it = nodes->begin(); it != nodes->end(); ++it) {
    const nlohmann::json& v = it.value();
    const std::string where = "node '" + it.key() + "'";
    if (!v.is_object()) fail("egraph json: ", where, " must be an object");
    SerializedNode n;
    n.id = it.key();
    auto op = v.find("op");
    if (op == v.end() || !op->is_string()) fail("egraph json: ", where, " needs a string \"op\"");
    n.op = op->get<std::string>();
    if (n.op.empty()) fail("egraph json: ", where, " has an empty \"op\"");
    auto ec = v.find("eclass");
    if (ec == v.end()) fail("egraph json: ", where, " needs \"eclass\"");
    n.eclass = id_string(*ec, where + " \"eclass\"");
    auto ch = v.find("children");
    if (ch != v.end()) {
      if (!ch->is_array()) fail("egraph json: ", where, " \"children\" must be an array");
      for (const auto& c : *ch) n.children.push_back(id_string(c, where + " child"));
    }
    auto cost = v.find("cost");
    if (cost != v.end()) {
      if (!cost->is_number()) fail("egraph json: ", where, " \"cost\" must be a number");
      n.cost = cost->get<double>();
    }
    s.nodes.push_back(std::move(n));
  }
  auto roots = j.find("root_eclasses");
  if (roots != j.end()) {
    if (!roots->is_array()) fail("egraph json: \"root_eclasses\" must be an array");
    for (const auto& r : *roots) s.root_eclasses.push_back(id_string(r, "root e-class"));
  }
  return s;
}

}  // namespace eqopt::eg
