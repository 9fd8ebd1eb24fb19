// Instances as text and as models, and guards evaluated on them. The search is in
// verify/instance_search.cpp.
#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "ir/shape_inference.h"
#include "verify/instance_detail.h"
#include "verify/tensor_values.h"

namespace eqopt::verify {

using rules::Expr;
using rules::PatternAst;

namespace detail {

std::string dtype_tag(DType t) {
  switch (t) {
    case DType::Float: return "f32";
    case DType::Int64: return "i64";
    case DType::Int32: return "i32";
    case DType::Double: return "f64";
    case DType::Float16: return "f16";
    case DType::Bool: return "bool";
    case DType::UInt64: return "u64";
    case DType::UInt32: return "u32";
    default: return std::string(dtype_short_name(t));
  }
}

}  // namespace detail

namespace {

using detail::dtype_tag;

std::string attribute_value_str(const Attribute& a) {
  std::ostringstream os;
  auto list = [&](const auto& xs) {
    os << '[';
    for (size_t i = 0; i < xs.size(); ++i) os << (i ? "," : "") << xs[i];
    os << ']';
  };
  switch (a.kind) {
    case Attribute::Kind::Int: os << a.i; break;
    case Attribute::Kind::Float: os << a.f; break;
    case Attribute::Kind::String: os << '"' << a.s << '"'; break;
    case Attribute::Kind::Ints: list(a.ints); break;
    case Attribute::Kind::Floats: list(a.floats); break;
    default: os << "<" << attribute_kind_name(a.kind) << ">"; break;
  }
  return os.str();
}

std::string attribute_set_str(const std::vector<Attribute>& attrs) {
  std::string s = "{";
  for (size_t i = 0; i < attrs.size(); ++i)
    s += (i ? ", " : "") + attrs[i].name + "=" + attribute_value_str(attrs[i]);
  return s + "}";
}

std::string tensor_values_str(const Tensor& t) {
  std::ostringstream os;
  const int64_t n = std::min<int64_t>(t.numel(), 8);
  if (t.rank() > 0) os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (i) os << ", ";
    if (t.dtype() == DType::Bool) os << (t.as_int64(i) ? "true" : "false");
    else if (is_floating(t.dtype())) os << t.as_double(i);
    else os << t.as_int64(i);
  }
  if (t.numel() > n) os << ", ...";
  if (t.rank() > 0) os << ']';
  return os.str();
}

void collect_pattern_terms(const PatternAst& p, std::vector<std::string>& out) {
  if (p.kind == PatternAst::Kind::Var) {
    if (std::find(out.begin(), out.end(), p.name) == out.end()) out.push_back(p.name);
    return;
  }
  for (const PatternAst& c : p.children) collect_pattern_terms(c, out);
}

bool mentions_root(const Expr& e) {
  if (e.kind == Expr::Kind::Var && e.text == "?root") return true;
  for (const Expr& a : e.args)
    if (mentions_root(a)) return true;
  return false;
}

bool pattern_mentions_root(const PatternAst& p) {
  if (p.kind == PatternAst::Kind::Const) return mentions_root(p.constant);
  for (const rules::Attr& a : p.attrs)
    if (mentions_root(a.value)) return true;
  for (const PatternAst& c : p.children)
    if (pattern_mentions_root(c)) return true;
  return false;
}

// Writes the patterns of one rule as nodes of one graph.
class ModelBuilder {
 public:
  ModelBuilder(const rules::Rule& rule, const Instance& inst, Model& m) : rule_(rule), inst_(inst), m_(m) {
    env_.rule = &rule;
    env_.instance = &inst;
  }

  void set_root(const guard::RootInfo* root) { env_.root = root; }

  // Emits a left pattern (attributes matched: literals, bound variables and attribute sets, plus
  // what the instance adds for attributes the pattern leaves open); returns its value's name.
  std::string emit_left(const PatternAst& p, const std::string& path, const OpSchema* parent, size_t index,
                        std::optional<DType> sibling) {
    if (p.kind == PatternAst::Kind::Var) return term(p.name);
    if (p.kind == PatternAst::Kind::Const) {
      // The compiler matches `#c(v)` against a constant whose every element is v; the instance
      // gives the smallest such constant, a scalar of the dtype the op's other operands have.
      const double v = p.constant.kind == Expr::Kind::Int ? double(p.constant.int_value) : p.constant.float_value;
      if (auto d = inst_.const_dtypes.find(path); d != inst_.const_dtypes.end())
        return constant(detail::tensor_of(d->second, {}, {v}));
      return constant(detail::left_constant(parent, index, v, sibling));
    }
    const OpSchema* schema = OpRegistry::global().find(OpId::parse(p.name));
    // The dtype of a variable operand, for the op's `#c(...)` operands.
    std::optional<DType> var_dtype;
    for (const PatternAst& c : p.children)
      if (c.kind == PatternAst::Kind::Var && !var_dtype) {
        auto d = inst_.dtypes.find(c.name);
        if (inst_.shapes.count(c.name)) var_dtype = d == inst_.dtypes.end() ? DType::Float : d->second;
      }
    std::vector<std::string> in;
    for (size_t i = 0; i < p.children.size(); ++i)
      in.push_back(emit_left(p.children[i], path + "." + std::to_string(i), schema, i, var_dtype));
    std::vector<Attribute> attrs;
    auto put = [&](const Attribute& a) {
      std::erase_if(attrs, [&](const Attribute& x) { return x.name == a.name; });
      attrs.push_back(a);
    };
    for (const rules::Attr& a : p.attrs) {
      if (a.name == "*") {
        auto it = inst_.attr_sets.find(a.value.text);
        if (it == inst_.attr_sets.end()) fail("instance of rule ", rule_.name, " does not bind ", a.value.text);
        for (const Attribute& x : it->second) put(x);
        continue;
      }
      put(attribute(a, p));
    }
    if (auto it = inst_.node_attrs.find(path); it != inst_.node_attrs.end())
      for (const Attribute& x : it->second) put(x);
    return node(p.name, in, attrs);
  }

  // Emits a right pattern as the compiler builds it: attributes computed, `*=?k` copied first and
  // replaced by explicit ones of the same name.
  std::string emit_right(const PatternAst& p) {
    if (p.kind == PatternAst::Kind::Var) return term(p.name);
    if (p.kind == PatternAst::Kind::Const) {
      try {
        return constant(guard::to_tensor(guard::eval(p.constant, env_)));
      } catch (const guard::Unknown&) {
        fail(rule_.file, ":", p.line, ":", p.column, ": rule ", rule_.name, ": cannot compute #c(", p.constant.str(),
             ") for instance ", inst_.str());
      }
    }
    std::vector<std::string> in;
    for (const PatternAst& c : p.children) in.push_back(emit_right(c));
    std::vector<Attribute> attrs;
    for (const rules::Attr& a : p.attrs) {
      guard::Value v;
      try {
        v = guard::eval(a.value, env_);
        if (a.name == "*") {
          if (v.kind != guard::Value::Kind::Attrs) throw guard::Unknown{};
          for (const Attribute& x : v.attrs) attrs.push_back(x);
          continue;
        }
        std::erase_if(attrs, [&](const Attribute& x) { return x.name == a.name; });
        attrs.push_back(guard::to_attribute(a.name, v));
      } catch (const guard::Unknown&) {
        fail(rule_.file, ":", a.line, ":", a.column, ": rule ", rule_.name, ": cannot compute ", p.name, " attribute ",
             a.name, "=", a.value.str(), " for instance ", inst_.str());
      }
    }
    return node(p.name, in, attrs);
  }

  // A graph output per value; a name used twice goes through an Identity so outputs stay distinct.
  void output(const std::string& name) {
    std::string out = name;
    if (!outputs_.insert(out).second) out = node("Identity", {name}, {});
    outputs_.insert(out);
    m_.graph.outputs.push_back({out, TensorType{DType::Undefined, std::nullopt}});
  }

 private:
  Attribute attribute(const rules::Attr& a, const PatternAst& p) {
    try {
      return guard::to_attribute(a.name, guard::eval(a.value, env_));
    } catch (const guard::Unknown&) {
      fail(rule_.file, ":", a.line, ":", a.column, ": rule ", rule_.name, ": the instance does not bind ", p.name,
           " attribute ", a.name, "=", a.value.str());
    }
  }

  std::string term(const std::string& var) {
    const std::string name = var.substr(1);
    if (!declared_.insert(var).second) return name;
    auto s = inst_.shapes.find(var);
    if (s == inst_.shapes.end()) fail("instance of rule ", rule_.name, " has no shape for ", var);
    if (auto v = inst_.values.find(var); v != inst_.values.end()) {
      m_.graph.initializers.push_back({name, v->second, ""});
      return name;
    }
    auto d = inst_.dtypes.find(var);
    m_.graph.inputs.push_back({name, TensorType::of(d == inst_.dtypes.end() ? DType::Float : d->second, s->second)});
    return name;
  }

  std::string constant(const Tensor& t) {
    const std::string name = str_cat("%c", constants_++);
    m_.graph.initializers.push_back({name, t, ""});
    return name;
  }

  std::string node(const std::string& op, const std::vector<std::string>& in, const std::vector<Attribute>& attrs) {
    Node n;
    const OpId id = OpId::parse(op);
    n.domain = id.domain;
    n.op_type = id.name;
    n.inputs = in;
    n.outputs = {str_cat("%", counter_++)};
    n.name = n.outputs[0];
    n.attributes = attrs;
    m_.graph.nodes.push_back(std::move(n));
    return m_.graph.nodes.back().outputs[0];
  }

  const rules::Rule& rule_;
  const Instance& inst_;
  Model& m_;
  guard::Env env_;
  std::set<std::string> declared_, outputs_;
  int counter_ = 0, constants_ = 0;
};

}  // namespace

std::string Instance::str() const {
  std::vector<std::string> parts;
  for (const auto& [var, shape] : shapes) {
    auto d = dtypes.find(var);
    std::string s = var + ": " + dtype_tag(d == dtypes.end() ? DType::Float : d->second) + shape_str(shape);
    if (auto v = values.find(var); v != values.end()) s += " = " + tensor_values_str(v->second);
    else if (weights.count(var)) s += " weight";
    parts.push_back(s);
  }
  for (const auto& [var, set] : attr_sets) parts.push_back(var + ": " + attribute_set_str(set));
  for (const auto& [var, a] : attrs) parts.push_back(var + ": " + attribute_value_str(a));
  for (const auto& [path, set] : node_attrs) parts.push_back("op@" + path + ": " + attribute_set_str(set));
  if (opset != 17) parts.push_back("opset " + std::to_string(opset));
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

int64_t Instance::size() const {
  int64_t n = 0;
  for (const auto& [var, shape] : shapes) {
    int64_t k = 1;
    for (int64_t d : shape) k *= d;
    n += k;
  }
  return n;
}

namespace detail {

bool int_operand(const OpSchema* schema, size_t index) {
  const ValueSpec* in = schema ? schema->input(index) : nullptr;
  if (!in) return false;
  if (in->constant) return true;
  static const DTypeSet integers = {DType::Int8,  DType::Int16,  DType::Int32,  DType::Int64,
                                    DType::UInt8, DType::UInt16, DType::UInt32, DType::UInt64};
  if (in->dtypes.empty() || (in->dtypes & integers) != in->dtypes) return false;
  const ValueSpec* out = schema->output(0);
  return !out || (out->dtypes & in->dtypes).empty();
}

Tensor tensor_of(DType dtype, const Shape& shape, const std::vector<double>& values) {
  const Tensor t = tensor_from(dtype, shape, [&](size_t i) {
    const double v = values[i];
    return std::pair(v, std::abs(v) < 9.2e18 ? int64_t(v) : int64_t(0));  // ints come from small values
  });
  if (!t.defined()) fail("no instance values of element type ", dtype_short_name(dtype));
  return t;
}

Tensor left_constant(const OpSchema* schema, size_t index, double v, std::optional<DType> sibling) {
  if (int_operand(schema, index)) return Tensor::scalar<int64_t>(int64_t(v));
  const ValueSpec* in = schema ? schema->input(index) : nullptr;
  const bool integral = v == std::floor(v);
  if (sibling && (!in || in->dtypes.contains(*sibling)) && (integral || is_floating(*sibling)))
    return tensor_of(*sibling, {}, {v});
  return Tensor::scalar<float>(float(v));
}

std::vector<std::string> term_vars(const std::vector<PatternAst>& patterns) {
  std::vector<std::string> out;
  for (const PatternAst& p : patterns) collect_pattern_terms(p, out);
  return out;
}

guard::RootInfo root_info(const rules::Rule& rule, const Instance& inst, const TensorType& type) {
  guard::RootInfo r;
  r.type = type;
  // The compiler's analysis makes a class a weight when it is computed from weights only, and
  // folds it to a constant when every input is one.
  std::vector<std::string> vars;
  if (!rule.lhs.empty()) collect_pattern_terms(rule.lhs[0], vars);
  r.weight = r.constant = true;
  for (const std::string& v : vars) {
    const bool has_value = inst.values.count(v) > 0;
    r.constant &= has_value;
    r.weight &= has_value || inst.weights.count(v) > 0;
  }
  return r;
}

Model build_model(const rules::Rule& rule, const Instance& inst, const guard::RootInfo* root) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", inst.opset}, {"eqopt", 1}};
  m.graph.name = rule.name;
  ModelBuilder b(rule, inst, m);
  std::vector<std::string> left;
  for (size_t i = 0; i < rule.lhs.size(); ++i)
    left.push_back(b.emit_left(rule.lhs[i], std::to_string(i), nullptr, 0, std::nullopt));
  guard::RootInfo inferred;
  if (!root && !rule.lhs.empty()) {
    bool needs_root = false;
    for (const PatternAst& p : rule.rhs) needs_root |= pattern_mentions_root(p);
    if (needs_root) {
      // The left side alone, inferred, gives `?root` for the right side's expressions.
      Model left_model = m;
      left_model.graph.outputs.push_back({left[0], TensorType{DType::Undefined, std::nullopt}});
      const InferenceResult r = infer_model(left_model);
      const TensorType* t = r.type_of(left[0]);
      if (!t) fail("rule ", rule.name, ": the left side of instance ", inst.str(), " has no type");
      inferred = root_info(rule, inst, *t);
      root = &inferred;
    }
  }
  b.set_root(root);
  std::vector<std::string> right;
  for (const PatternAst& p : rule.rhs) right.push_back(b.emit_right(p));
  for (const std::string& o : left) b.output(o);
  for (const std::string& o : right) b.output(o);
  return m;
}

}  // namespace detail

Model instance_model(const rules::Rule& rule, const Instance& instance) {
  return detail::build_model(rule, instance, nullptr);
}

bool guard_holds(const rules::Rule& rule, const Instance& instance) {
  if (!rule.guard) return true;
  guard::check_functions(*rule.guard, rule);
  guard::Env env;
  env.rule = &rule;
  env.instance = &instance;
  guard::RootInfo root;
  if (mentions_root(*rule.guard) && !rule.lhs.empty()) {
    // `?root` is the left side's first value: its type by inference of the left side.
    Model m;
    m.opset_imports = {{"", instance.opset}, {"eqopt", 1}};
    ModelBuilder b(rule, instance, m);
    const std::string out = b.emit_left(rule.lhs[0], "0", nullptr, 0, std::nullopt);
    m.graph.outputs.push_back({out, TensorType{DType::Undefined, std::nullopt}});
    try {
      const InferenceResult r = infer_model(m);
      if (const TensorType* t = r.type_of(out)) {
        root = detail::root_info(rule, instance, *t);
        env.root = &root;
      }
    } catch (const Error&) {
      return false;  // a left side that does not type-check matches nothing
    }
  }
  return guard::holds(*rule.guard, env);
}

}  // namespace eqopt::verify
