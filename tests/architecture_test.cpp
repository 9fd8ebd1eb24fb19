// docs/architecture.md's table of libraries against the build and the sources: each library's
// "uses" column must equal the eqopt libraries its CMakeLists.txt links, the order must be a
// layering (a library uses only those listed above it), and every `#include "FOLDER/..."` of a
// library's sources must name itself or a library it reaches through its uses.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Row {
  std::string folder;   // "ir"
  std::string library;  // "eqopt_ir"
  std::set<std::string> uses;  // folder names of eqopt libraries
  size_t order = 0;
};

// The libraries of the table whose "uses" column names eqopt libraries (not cli, examples, bench,
// tests, whose column says "all" or "as needed").
std::map<std::string, Row> read_table(const std::string& doc) {
  std::map<std::string, Row> rows;
  const std::regex row_re(R"(^\| `([a-z_]+)/` \| `([a-z_]+)` \| .* \| ([^|]*) \|\s*$)");
  std::istringstream in(doc);
  std::string line;
  std::vector<std::pair<std::string, std::string>> raw;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, row_re)) raw.emplace_back(m[1].str() + "\t" + m[2].str(), m[3].str());
  }
  std::set<std::string> folders;
  for (const auto& [key, uses] : raw) folders.insert(key.substr(0, key.find('\t')));
  size_t order = 0;
  for (const auto& [key, uses] : raw) {
    Row r;
    r.folder = key.substr(0, key.find('\t'));
    r.library = key.substr(key.find('\t') + 1);
    r.order = order++;
    if (uses.find("all") != std::string::npos || uses.find("as needed") != std::string::npos) continue;
    std::stringstream words(uses);
    std::string w;
    while (std::getline(words, w, ',')) {
      w.erase(0, w.find_first_not_of(" "));
      w.erase(w.find_last_not_of(" ") + 1);
      if (folders.count(w)) r.uses.insert(w);  // external dependencies (Z3, CBC, libonnx) are not checked
    }
    rows[r.folder] = r;
  }
  return rows;
}

// The eqopt libraries `library` links in `cmake` (every target_link_libraries(library ...) call).
std::set<std::string> linked(const std::string& cmake, const std::string& library,
                             const std::map<std::string, std::string>& folder_of_library) {
  std::set<std::string> out;
  const std::regex call_re("target_link_libraries\\(\\s*" + library + "\\s([^)]*)\\)");
  for (auto it = std::sregex_iterator(cmake.begin(), cmake.end(), call_re); it != std::sregex_iterator(); ++it) {
    std::stringstream words((*it)[1].str());
    std::string w;
    while (words >> w) {
      auto f = folder_of_library.find(w);
      if (f != folder_of_library.end()) out.insert(f->second);
    }
  }
  return out;
}

std::string join(const std::set<std::string>& s) {
  std::string r;
  for (const std::string& x : s) r += (r.empty() ? "" : ", ") + x;
  return r.empty() ? "(none)" : r;
}

class Architecture : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = EQOPT_SOURCE_DIR;
    rows_ = read_table(read_file(root_ / "docs" / "architecture.md"));
    for (const auto& [folder, row] : rows_) folder_of_library_[row.library] = folder;
  }
  fs::path root_;
  std::map<std::string, Row> rows_;
  std::map<std::string, std::string> folder_of_library_;
};

TEST_F(Architecture, TableListsTheLibraries) {
  for (const char* f : {"support", "ir", "onnx_io", "interp", "egraph", "rules", "extract", "targets", "lowering",
                        "optimizer", "verify"})
    EXPECT_TRUE(rows_.count(f)) << "docs/architecture.md has no row for " << f << "/";
}

TEST_F(Architecture, UsesColumnMatchesCMakeLinks) {
  for (const auto& [folder, row] : rows_) {
    const fs::path cmake = root_ / folder / "CMakeLists.txt";
    ASSERT_TRUE(fs::exists(cmake)) << cmake;
    std::set<std::string> links = linked(read_file(cmake), row.library, folder_of_library_);
    links.erase(folder);
    EXPECT_EQ(join(row.uses), join(links))
        << folder << "/: docs/architecture.md's \"uses\" column (left) differs from " << folder
        << "/CMakeLists.txt's links (right)";
  }
}

TEST_F(Architecture, LibrariesUseOnlyThoseAboveThem) {
  for (const auto& [folder, row] : rows_)
    for (const std::string& u : row.uses)
      EXPECT_LT(rows_.at(u).order, row.order) << folder << "/ uses " << u << "/, which the table lists below it";
}

TEST_F(Architecture, IncludesStayWithinTheUses) {
  for (const auto& [folder, row] : rows_) {
    // The libraries reachable from this one.
    std::set<std::string> reach = {folder};
    std::vector<std::string> todo(row.uses.begin(), row.uses.end());
    while (!todo.empty()) {
      const std::string u = todo.back();
      todo.pop_back();
      if (!reach.insert(u).second || !rows_.count(u)) continue;
      for (const std::string& v : rows_.at(u).uses) todo.push_back(v);
    }
    const std::regex include_re("#include \"([a-z_]+)/");
    for (auto it = fs::recursive_directory_iterator(root_ / folder); it != fs::recursive_directory_iterator(); ++it) {
      const fs::directory_entry& entry = *it;
      // A separate CMake project inside the folder (examples/runtime_api builds against the
      // installed package) is not part of the library.
      if (entry.is_directory() && fs::exists(entry.path() / "CMakeLists.txt") &&
          read_file(entry.path() / "CMakeLists.txt").find("project(") != std::string::npos) {
        it.disable_recursion_pending();
        continue;
      }
      const std::string ext = entry.path().extension().string();
      if (ext != ".cpp" && ext != ".h") continue;
      const std::string text = read_file(entry.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), include_re); it != std::sregex_iterator(); ++it) {
        const std::string inc = (*it)[1].str();
        if (!rows_.count(inc)) continue;  // a system or third-party header
        EXPECT_TRUE(reach.count(inc)) << fs::relative(entry.path(), root_).string() << " includes " << inc
                                      << "/, which " << folder << "/ does not use (docs/architecture.md)";
      }
    }
  }
}

}  // namespace
