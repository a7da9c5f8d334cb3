# Install rules and package files for offkv:
#   <prefix>/<libdir>/liboffkv.so{,.MAJOR,.MAJOR.MINOR.PATCH}, or liboffkv.a
#                     (BUILD_SHARED_LIBS=OFF)
#   <prefix>/<includedir>/offkv.h
#   <prefix>/<libdir>/cmake/offkv/offkv{Config,ConfigVersion,Targets*}.cmake
#                     (static: with the find modules of the backends' dependencies)
#   <prefix>/<libdir>/pkgconfig/offkv.pc
# Everything is relocatable, so `cmake --install build --prefix DIR` works for any DIR.
#
# Backends that add private dependencies append to these before this file is
# included (it is included at the end of the root CMakeLists.txt):
#   OFFKV_CONFIG_DEPENDENCIES  packages offkvConfig.cmake find_dependency()s
#                              (what a static liboffkv's imported target links)
#   OFFKV_PC_REQUIRES_PRIVATE  pkg-config modules for Requires.private
#   OFFKV_PC_LIBS_PRIVATE      linker flags for Libs.private (no .pc available)
include(CMakePackageConfigHelpers)

set(OFFKV_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/offkv" CACHE STRING
    "Where offkvConfig.cmake is installed, relative to the prefix")
mark_as_advanced(OFFKV_INSTALL_CMAKEDIR)

# ---- Private dependencies, derived from the backends compiled in ----
# A program linking the static liboffkv.a needs them; a shared liboffkv carries them
# itself, and its offkvConfig.cmake finds only Threads.
list(APPEND OFFKV_CONFIG_DEPENDENCIES Threads)
list(APPEND OFFKV_PC_LIBS_PRIVATE "-pthread")
set(OFFKV_CONFIG_FIND_MODULES "")
if(OFFKV_WITH_ZK)
  # Debian's libzookeeper-mt-dev ships no .pc file.
  list(APPEND OFFKV_PC_LIBS_PRIVATE "-lzookeeper_mt")
  if(NOT BUILD_SHARED_LIBS)
    list(APPEND OFFKV_CONFIG_DEPENDENCIES "ZooKeeper 3.5")
    list(APPEND OFFKV_CONFIG_FIND_MODULES ${CMAKE_CURRENT_LIST_DIR}/FindZooKeeper.cmake)
  endif()
endif()
if(OFFKV_WITH_ETCD)
  list(APPEND OFFKV_PC_REQUIRES_PRIVATE grpc++ protobuf)
  if(NOT BUILD_SHARED_LIBS)
    list(APPEND OFFKV_CONFIG_DEPENDENCIES Protobuf GrpcPP)
    list(APPEND OFFKV_CONFIG_FIND_MODULES ${CMAKE_CURRENT_LIST_DIR}/FindGrpcPP.cmake)
  endif()
endif()
if(OFFKV_WITH_CONSUL)
  # -lcurl, not Requires.private: libcurl: Debian's libcurl.pc lists curl's own static
  # dependencies (ssh2, rtmp, ldap, ...), whose -dev packages libcurl4-openssl-dev does
  # not pull in, so `pkg-config --static --libs offkv` would name libraries that are
  # not there. liboffkv.a needs libcurl itself, however libcurl is linked.
  list(APPEND OFFKV_PC_LIBS_PRIVATE "-lcurl")
  if(NOT BUILD_SHARED_LIBS)
    list(APPEND OFFKV_CONFIG_DEPENDENCIES CURL)
  endif()
endif()
# liboffkv is C++: a C program linking liboffkv.a needs the C++ runtime.
foreach(lib IN LISTS OFFKV_CXX_RUNTIME_LIBS)
  list(APPEND OFFKV_PC_LIBS_PRIVATE "-l${lib}")
endforeach()
list(REMOVE_DUPLICATES OFFKV_CONFIG_DEPENDENCIES)
list(REMOVE_DUPLICATES OFFKV_PC_REQUIRES_PRIVATE)
list(REMOVE_DUPLICATES OFFKV_PC_LIBS_PRIVATE)

# ---- The library and its header ----
install(TARGETS offkv
  EXPORT offkvTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime
          NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime
  PUBLIC_HEADER DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# ---- CMake package: find_package(offkv) -> offkv::offkv ----
install(EXPORT offkvTargets
  NAMESPACE offkv::
  DESTINATION ${OFFKV_INSTALL_CMAKEDIR}
  COMPONENT development)

set(OFFKV_FIND_DEPENDENCIES "")
foreach(dep IN LISTS OFFKV_CONFIG_DEPENDENCIES)
  string(APPEND OFFKV_FIND_DEPENDENCIES "find_dependency(${dep})\n")
endforeach()
if(OFFKV_CONFIG_FIND_MODULES)
  # Our find modules (ZooKeeper, gRPC C++) go next to offkvConfig.cmake.
  install(FILES ${OFFKV_CONFIG_FIND_MODULES}
    DESTINATION ${OFFKV_INSTALL_CMAKEDIR}
    COMPONENT development)
  set(OFFKV_FIND_DEPENDENCIES
      "set(_offkv_module_path \"\${CMAKE_MODULE_PATH}\")\n"
      "list(PREPEND CMAKE_MODULE_PATH \"\${CMAKE_CURRENT_LIST_DIR}\")\n"
      "${OFFKV_FIND_DEPENDENCIES}"
      "set(CMAKE_MODULE_PATH \"\${_offkv_module_path}\")\n"
      "unset(_offkv_module_path)\n")
  string(CONCAT OFFKV_FIND_DEPENDENCIES ${OFFKV_FIND_DEPENDENCIES})
endif()
if(BUILD_SHARED_LIBS)
  set(OFFKV_LIBRARY_KIND shared)
else()
  set(OFFKV_LIBRARY_KIND static)
endif()
set(OFFKV_BACKENDS mem)
foreach(backend ZK ETCD CONSUL)
  if(OFFKV_WITH_${backend})
    string(TOLOWER ${backend} name)
    list(APPEND OFFKV_BACKENDS ${name})
  endif()
endforeach()

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/offkvConfig.cmake.in
  ${PROJECT_BINARY_DIR}/offkvConfig.cmake
  INSTALL_DESTINATION ${OFFKV_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO
  NO_CHECK_REQUIRED_COMPONENTS_MACRO)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/offkvConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
    ${PROJECT_BINARY_DIR}/offkvConfig.cmake
    ${PROJECT_BINARY_DIR}/offkvConfigVersion.cmake
  DESTINATION ${OFFKV_INSTALL_CMAKEDIR}
  COMPONENT development)

# ---- pkg-config: offkv.pc, relocatable through ${pcfiledir} ----
set(OFFKV_PC_DIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${OFFKV_PC_DIR}")
  set(OFFKV_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH OFFKV_PC_UP "/root/${OFFKV_PC_DIR}" "/root")
  set(OFFKV_PC_PREFIX "\${pcfiledir}/${OFFKV_PC_UP}")
endif()
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(OFFKV_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(OFFKV_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(OFFKV_PC_PRIVATE_LINES "")
if(OFFKV_PC_REQUIRES_PRIVATE)
  list(JOIN OFFKV_PC_REQUIRES_PRIVATE ", " _requires)
  string(APPEND OFFKV_PC_PRIVATE_LINES "Requires.private: ${_requires}\n")
endif()
if(OFFKV_PC_LIBS_PRIVATE)
  list(JOIN OFFKV_PC_LIBS_PRIVATE " " _libs)
  string(APPEND OFFKV_PC_PRIVATE_LINES "Libs.private: ${_libs}\n")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/offkv.pc.in ${PROJECT_BINARY_DIR}/offkv.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/offkv.pc
  DESTINATION ${OFFKV_PC_DIR}
  COMPONENT development)
