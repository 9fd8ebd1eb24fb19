// Where an installed eqopt finds its data: PREFIX/share/eqopt/<what> beside PREFIX/bin/eqopt.
#pragma once
#include <string>

namespace eqopt {

// PREFIX/share/eqopt/<what> when the running executable is PREFIX/bin/<name> and that folder
// exists; "" otherwise (a build tree uses the source tree's folders).
std::string installed_data_dir(const std::string& what);

// installed_data_dir(what), else `fallback`.
std::string data_dir(const std::string& what, const std::string& fallback);

}  // namespace eqopt
