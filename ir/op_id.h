// An operator's identity: its domain and its name, parsed once.
//
// Rule files, target descriptions and reports write an op as one word: "Relu" (default ONNX
// domain), "eqopt.FusedConv" (eqopt's own domain), "com.microsoft.Gelu" (the domain is everything
// before the last dot). OpId::parse splits that word; every library keys its per-op tables by OpId,
// so no other code splits names at dots.
#pragma once
#include <compare>
#include <string>
#include <string_view>

namespace eqopt {

struct Node;

struct OpId {
  std::string domain;  // "" for the default ONNX domain ("ai.onnx" is normalised to "")
  std::string name;

  OpId() = default;
  OpId(std::string domain_, std::string name_);

  // "Relu" -> {"", "Relu"}; "eqopt.Swish" -> {"eqopt", "Swish"}; "ai.onnx.Relu" -> {"", "Relu"}.
  // A word with a leading or trailing dot is taken as a name in the default domain.
  static OpId parse(std::string_view qualified);
  static OpId of(const Node& node);

  bool is_default_domain() const { return domain.empty(); }
  // The one-word spelling parse() reads back: "Relu", "eqopt.Swish".
  std::string str() const;

  friend bool operator==(const OpId&, const OpId&) = default;
  friend auto operator<=>(const OpId&, const OpId&) = default;
};

struct OpIdHash {
  size_t operator()(const OpId& id) const;
};

}  // namespace eqopt
