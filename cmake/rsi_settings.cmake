# Compiler settings shared by every target: language level, warnings, sanitizers.
set(CMAKE_CXX_STANDARD 23)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
set(CMAKE_CXX_FLAGS_RELEASE "-O2 -DNDEBUG")
set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O2 -g -DNDEBUG")

find_program(RSI_CCACHE ccache)
if(RSI_CCACHE AND NOT RSI_PCH)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${RSI_CCACHE}")
endif()

# RSI_PCH: one precompiled header for the libraries and one for the tests (which add GoogleTest),
# each built once and reused by every target of its kind (rsi_use_pch). It saves parsing the
# standard library, fmt and nlohmann::json again in every unity file: worth it for a cold build
# (CI); a warm ccache is faster still, and ccache cannot cache a compile that reads a
# precompiled header, so the two are not combined.
set(RSI_PCH_HEADERS
  <algorithm> <array> <atomic> <chrono> <cstddef> <cstdint> <cstring> <expected> <filesystem>
  <functional> <map> <memory> <mutex> <optional> <span> <string> <string_view> <thread>
  <utility> <variant> <vector> <fmt/format.h> <nlohmann/json.hpp>)

if(RSI_PCH AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # With the header forced in first, g++ 12 takes a unity file's sources for headers and warns
  # of a class with a member from an anonymous namespace (http::Server::State); each source is
  # still one translation unit's, so there is nothing to share across them.
  add_compile_options(-Wno-subobject-linkage)
endif()

# rsi_use_pch(<target> <host>): <target> compiles with <host>'s precompiled header.
function(rsi_use_pch target host)
  if(RSI_PCH)
    target_precompile_headers(${target} REUSE_FROM ${host})
  endif()
endfunction()

add_library(rsi_warnings INTERFACE)
target_compile_options(rsi_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough
  # Designated initializers that name only some fields are the house style. (-Wnull-dereference
  # is left out: with g++ 12 at -O2 it fires inside libstdc++ and CLI11 inlined code.)
  -Wno-missing-field-initializers)

if(RSI_SANITIZE AND RSI_TSAN)
  message(FATAL_ERROR "RSI_SANITIZE and RSI_TSAN cannot be combined")
endif()
if(RSI_SANITIZE OR RSI_TSAN)
  # Line tables are all a sanitizer report needs; full debug information for this template-heavy
  # code nearly doubles the build, which CI pays on every run. ASan+UBSan builds without
  # optimisation (scripts/test builds it with clang, see below): optimising UBSan-instrumented
  # templates costs 2.5 to 3 times the compile time of -O0, more than the tests then gain at run
  # time. TSan keeps -O1: cheap to compile, and unoptimised TSan code is several times slower.
  if(RSI_SANITIZE)
    set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O0 -g1 -DNDEBUG")
  else()
    set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -g1 -DNDEBUG")
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # g++ 12 reports false positives inside libstdc++ (<regex>, <expected>) once instrumented.
    add_compile_options(-Wno-maybe-uninitialized -Wno-free-nonheap-object)
  endif()
endif()

# Clang 16 can compile libstdc++ 12's <expected> (rsi::Result) but still reports the C++17-era
# __cpp_concepts value, which hides it; the macro is raised to what clang 16 implements. (Clang 14,
# Debian 12's default, lacks conditionally trivial special members and cannot.) scripts/test
# builds the ASan+UBSan tree with clang 16: at -O0 it needs 20 % less CPU than g++ for the tree.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
    message(FATAL_ERROR "clang ${CMAKE_CXX_COMPILER_VERSION} cannot compile std::expected; use clang >= 16 or g++ >= 12")
  endif()
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-std=c++2b")
  check_cxx_source_compiles("#include <expected>\nint main() { std::expected<int, int> e{1}; return *e - 1; }"
                            RSI_EXPECTED_AS_IS)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT RSI_EXPECTED_AS_IS)
    add_compile_options(-D__cpp_concepts=202002L -Wno-builtin-macro-redefined -Wno-macro-redefined)
  endif()
endif()

# RSI_ADDRESS_SANITIZER / RSI_THREAD_SANITIZER tell code (tests) which sanitizer it runs under,
# the same with g++ and clang (clang 16 does not define g++'s __SANITIZE_ADDRESS__).
if(RSI_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_compile_definitions(RSI_ADDRESS_SANITIZER=1)
  add_link_options(-fsanitize=address,undefined)
endif()
# The libFuzzer targets link the same libraries as the tests: every object carries the coverage
# instrumentation libFuzzer steers by (the sanitizer runtimes answer its hooks with no-ops in the
# other executables), so a tree that builds the ASan+UBSan suites builds the fuzz targets for the
# cost of linking them (scripts/test).
if(RSI_FUZZ)
  if(NOT RSI_SANITIZE OR NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RSI_FUZZ needs clang (>= 16) and RSI_SANITIZE=ON")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
if(RSI_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_compile_definitions(RSI_THREAD_SANITIZER=1)
  add_link_options(-fsanitize=thread)
endif()

# rsi_add_library(<concern> SOURCES ... DEPS ...): one static library per src/ folder,
# named rsi_<concern>, with src/ as its include root.
function(rsi_add_library concern)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(rsi_${concern} STATIC ${ARG_SOURCES})
  target_include_directories(rsi_${concern} PUBLIC "${PROJECT_SOURCE_DIR}/src")
  target_link_libraries(rsi_${concern} PUBLIC ${ARG_DEPS} PRIVATE rsi_warnings ${ARG_PRIVATE_DEPS})
  rsi_use_pch(rsi_${concern} rsi_pch)
endfunction()
