// libtern.so is the union of the core module archives, linked whole (see
// src/CMakeLists.txt). This translation unit exists because CMake needs one
// source per library; it defines nothing.
#include "tern/version.h"
