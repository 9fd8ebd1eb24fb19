// The guard language's one evaluator (rules/guard.h), over a Reader that stands for a match: list
// functions, term facts with unknown dims, integer overflow as "unknown", term identity and errors.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "rules/guard.h"
#include "rules/parser.h"
#include "support/error.h"

namespace eqopt::rules::guard {
namespace {

struct TermFacts {
  TensorType type;
  std::optional<Tensor> value;
  bool weight = false, initializer = false;
  int64_t outputs = 1;
};

// Terms are numbered 1, 2, ...; variables bind terms or attribute values.
class MapReader final : public Reader {
 public:
  std::map<std::string, Value> vars;
  std::map<uint64_t, TermFacts> terms;

  Value variable(const std::string& name) const override {
    auto it = vars.find(name);
    if (it == vars.end()) throw Unknown{};
    return it->second;
  }
  TensorType type(const Value& t) const override { return facts(t).type; }
  const Tensor* value(const Value& t) const override {
    const TermFacts& f = facts(t);
    return f.value ? &*f.value : nullptr;
  }
  bool is_weight(const Value& t) const override { return facts(t).weight; }
  bool is_initializer(const Value& t) const override { return facts(t).initializer; }
  int64_t outputs(const Value& t) const override { return facts(t).outputs; }

 private:
  const TermFacts& facts(const Value& t) const {
    auto it = terms.find(t.term);
    if (it == terms.end()) throw Unknown{};
    return it->second;
  }
};

// The guard of a rule whose left side binds every variable the tests use.
Rule rule_with_guard(const std::string& guard) {
  std::vector<Rule> rs = parse_rules("rule r:\n  (Op{perm=?p} ?a ?b ?same ?k ?unbound) => ?a\n  if " + guard + "\n", "g.rules");
  return rs.at(0);
}

class GuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reader.vars["?a"] = Value::of_term(1);
    reader.vars["?b"] = Value::of_term(2);
    reader.vars["?same"] = Value::of_term(1);
    reader.vars["?p"] = Value::of_ints({2, 0, 1});
    reader.terms[1].type = TensorType::of(DType::Float, Dims{Dim::of(2), Dim::symbol("N"), Dim::of(4)});
    reader.terms[2].type = TensorType::of(DType::Float, Shape{4});
    reader.terms[2].value = Tensor::from_vector<float>({4}, {1.5f, 1.5f, 1.5f, 1.5f});
    reader.terms[2].weight = true;
  }
  bool holds(const std::string& guard) {
    const Rule r = rule_with_guard(guard);
    check_functions(*r.guard, r);
    return guard::holds(*r.guard, reader, &r);
  }
  Value eval(const std::string& expr) {
    const Rule r = rule_with_guard(expr);
    return guard::eval(*r.guard, reader, &r);
  }
  MapReader reader;
};

TEST_F(GuardTest, ListFunctions) {
  EXPECT_EQ(eval("compose(?p, [1, 2, 0])"), Value::of_ints({0, 1, 2}));
  EXPECT_EQ(eval("inverse_perm(?p)"), Value::of_ints({1, 2, 0}));
  EXPECT_TRUE(holds("is_identity_perm(compose(?p, inverse_perm(?p)))"));
  EXPECT_EQ(eval("gather([10, 20, 30], [-1, 0])"), Value::of_ints({30, 10}));
  EXPECT_EQ(eval("pad_left([3], 3, 1)"), Value::of_ints({1, 1, 3}));
  EXPECT_EQ(eval("index_of(?p, -1)"), Value::of_int(0));  // -1 is axis 2, at position 0
  EXPECT_TRUE(holds("approx(0.70710677, 1 / sqrt(2.0))"));
  EXPECT_FALSE(holds("approx(0.707, 1 / sqrt(2.0))"));
  EXPECT_FALSE(holds("gather([1], [1]) == [1]"));  // out of range: unknown, so false
}

TEST_F(GuardTest, TermFactsWithAnUnknownDim) {
  EXPECT_TRUE(holds("rank(?a) == 3 && dim(?a, 0) == 2 && dim(?a, -1) == 4"));
  EXPECT_FALSE(holds("dim(?a, 1) >= 0"));  // the symbolic dim has no value
  EXPECT_FALSE(holds("numel(?a) > 0"));
  EXPECT_FALSE(holds("static(?a)"));
  EXPECT_TRUE(holds("static(?b) && shape(?b) == [4] && broadcastable([2, 3, 4], ?b)"));
  EXPECT_FALSE(holds("broadcastable(?a, ?b)"));  // ?a has a dim of unknown value
  EXPECT_TRUE(holds("const(?b) && weight(?b) && !initializer(?b) && !const(?a)"));
  EXPECT_TRUE(holds("all_eq(value(?b), 1.5) && len(value(?b)) == 4"));
}

TEST_F(GuardTest, ScalarNeedsOneElement) {
  reader.terms[3].type = TensorType::of(DType::Int64, Shape{});
  reader.terms[3].value = Tensor::scalar<int64_t>(7);
  reader.vars["?k"] = Value::of_term(3);
  EXPECT_TRUE(holds("scalar(?k) == 7 && dtype(?k) == \"int64\""));
  EXPECT_FALSE(holds("scalar(?b) == 1.5"));
}

TEST_F(GuardTest, IntegerOverflowIsUnknownNotWrapped) {
  EXPECT_FALSE(holds("4611686018427387904 * 4 == 0"));
  EXPECT_FALSE(holds("4611686018427387904 * 4 != 0"));
  EXPECT_FALSE(holds("9223372036854775807 + 1 < 0"));
  EXPECT_FALSE(holds("(0 - 9223372036854775807 - 1) / (0 - 1) != 0"));
  EXPECT_FALSE(holds("7 % 0 == 0"));
  EXPECT_TRUE(holds("7 / 2 == 3 && 7 % 2 == 1 && 7.0 / 2 == 3.5"));
}

TEST_F(GuardTest, TermsCompareByIdentity) {
  EXPECT_TRUE(holds("?a == ?same"));
  EXPECT_FALSE(holds("?a == ?b"));
  EXPECT_FALSE(holds("?unbound == ?a"));
}

TEST_F(GuardTest, UnknownFunctionsAndWrongArgumentCountsAreErrors) {
  const Rule r = rule_with_guard("rank(?a) == 2 && nosuch(?a)");
  try {
    check_functions(*r.guard, r);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "g.rules:3:23: unknown guard function 'nosuch'");
  }
  EXPECT_THROW(eval("rank(?a, ?b)"), Error);
  EXPECT_THROW(eval("approx(1)"), Error);
}

TEST_F(GuardTest, ValuesConvertToAttributesAndTensors) {
  EXPECT_EQ(to_attribute("perm", Value::of_ints({1, 0})).ints, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(to_attribute("alpha", Value::of_float(0.5)).kind, Attribute::Kind::Float);
  EXPECT_THROW(to_attribute("x", Value::of_list({Value::of_string("a")})), Unknown);
  EXPECT_THROW(to_attribute("x", Value::of_term(1)), Unknown);
  const Tensor t = to_tensor(Value::of_list({Value::of_int(1), Value::of_float(2.5)}));
  EXPECT_EQ(t.dtype(), DType::Float);
  EXPECT_EQ(t.numel(), 2);
  EXPECT_EQ(to_tensor(Value::of_int(3)).dtype(), DType::Int64);
}

}  // namespace
}  // namespace eqopt::rules::guard
