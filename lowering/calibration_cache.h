// The cpu description fitted to this machine, cached per machine.
//
// Machines of one kind differ up to two-fold in speed, so the shipped cpu description
// (targets/cpu.target) is refitted on the machine at hand the first time it is used there: a quick
// calibration (calibrate.h, its quick subset of kernels, well under a second) whose result is
// written to $XDG_CACHE_HOME/eqopt (default ~/.cache/eqopt) under a key naming the CPU model, the ISA
// oneDNN uses and the thread count. Later runs read the cache; `eqopt calibrate --target cpu`
// refreshes it with the full calibration. EQOPT_CALIBRATION=off uses the shipped figures.
#pragma once
#include <string>

#include "targets/target.h"

namespace eqopt::lower {

// "2026-12-07 20:12 UTC", for the header of a fitted description.
std::string utc_now();

// "AMD EPYC 7B13 | avx512_core_bf16 | 1 threads"
std::string calibration_machine_key();
// The cache file of this machine's key.
std::string calibration_cache_path();

struct MachineDescription {
  tgt::TargetDescription description;
  // What the figures are: "shipped (targets/cpu.target)", "calibrated on this machine (FILE,
  // fitted DATE)", "calibrated on this machine now (written to FILE)".
  std::string figures;
};

// The cpu description for this machine: the cache when it holds one for this key, else a quick
// calibration of the shipped description, cached (a cache that cannot be written is no error).
// With EQOPT_CALIBRATION=off, the shipped description.
MachineDescription cpu_description_for_this_machine();

// Writes a fitted description to this machine's cache file (atomically); returns the path.
std::string store_calibration(const std::string& text);

}  // namespace eqopt::lower
