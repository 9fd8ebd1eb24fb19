#include "ir/op_id.h"

#include <functional>

#include "ir/graph.h"

namespace eqopt {

OpId::OpId(std::string domain_, std::string name_) : domain(std::move(domain_)), name(std::move(name_)) {
  if (eqopt::is_default_domain(domain)) domain.clear();
}

OpId OpId::parse(std::string_view qualified) {
  const size_t dot = qualified.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == qualified.size())
    return OpId("", std::string(qualified));
  return OpId(std::string(qualified.substr(0, dot)), std::string(qualified.substr(dot + 1)));
}

OpId OpId::of(const Node& node) { return OpId(node.domain, node.op_type); }

std::string OpId::str() const {
  if (domain.empty()) return name;
  std::string s;
  s.reserve(domain.size() + 1 + name.size());
  s.append(domain).append(1, '.').append(name);
  return s;
}

size_t OpIdHash::operator()(const OpId& id) const {
  const size_t h = std::hash<std::string>()(id.domain);
  return h ^ (std::hash<std::string>()(id.name) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

}  // namespace eqopt
