# Decides which remote backends are compiled in. Included by the root CMakeLists.txt
# before core/, in the root directory's scope, so the imported targets it finds
# (ZooKeeper::zookeeper_mt, GrpcPP::grpcpp, protobuf::libprotobuf, protobuf::protoc,
# CURL::libcurl, nlohmann_json::nlohmann_json) are visible to every subdirectory.
#
# Each of OFFKV_WITH_ZK / OFFKV_WITH_ETCD / OFFKV_WITH_CONSUL is a cache entry holding
# the request:
#   AUTO (default)  ON when the backend's libraries are found, OFF otherwise;
#   ON              the libraries must be found: configure fails naming the Debian
#                   packages that provide what is missing;
#   OFF             not built.
# The request stays in the cache (so the next configure detects again); the decision
# goes into a normal variable of the same name, ON or OFF, which everything after this
# file tests with if(OFFKV_WITH_<B>). OFFKV_<B>_REASON says why, for the summary.
#
# A parent project that sets OFFKV_WITH_<B> as a normal variable before
# add_subdirectory() (bindings/python) is honoured like a cache entry (CMP0126).

if(POLICY CMP0126)
  cmake_policy(SET CMP0126 NEW)
endif()

set(OFFKV_BACKEND_NAMES ZK ETCD CONSUL)
set(_offkv_doc_ZK "ZooKeeper backend (libzookeeper-mt): AUTO, ON or OFF")
set(_offkv_doc_ETCD "etcd v3 backend (gRPC C++ + Protobuf): AUTO, ON or OFF")
set(_offkv_doc_CONSUL "Consul backend (libcurl + nlohmann/json): AUTO, ON or OFF")

# Looks for the libraries core/CMakeLists.txt links for <backend>, quietly.
# <out_found> TRUE/FALSE; <out_what> what was found, or each missing piece with the
# Debian packages that provide it (scripts/deps.sh installs the same).
function(_offkv_detect_backend backend out_found out_what)
  set(found "")
  set(missing "")
  if(backend STREQUAL "ZK")
    find_package(ZooKeeper 3.5 QUIET)
    if(ZooKeeper_FOUND)
      list(APPEND found "ZooKeeper C client ${ZooKeeper_VERSION}")
    else()
      list(APPEND missing "ZooKeeper C client >= 3.5 (apt install libzookeeper-mt-dev)")
    endif()
  elseif(backend STREQUAL "ETCD")
    find_package(Protobuf QUIET)
    if(Protobuf_FOUND AND TARGET protobuf::protoc)
      list(APPEND found "Protobuf ${Protobuf_VERSION}")
    else()
      list(APPEND missing "Protobuf and protoc (apt install libprotobuf-dev protobuf-compiler)")
    endif()
    find_package(GrpcPP QUIET)
    if(GrpcPP_FOUND)
      list(APPEND found "gRPC C++ ${GrpcPP_VERSION}")
    else()
      list(APPEND missing
           "gRPC C++ and grpc_cpp_plugin (apt install libgrpc++-dev protobuf-compiler-grpc)")
    endif()
  elseif(backend STREQUAL "CONSUL")
    find_package(CURL QUIET)
    if(CURL_FOUND)
      list(APPEND found "libcurl ${CURL_VERSION_STRING}")
    else()
      list(APPEND missing "libcurl (apt install libcurl4-openssl-dev)")
    endif()
    find_package(nlohmann_json 3.2 QUIET)
    if(nlohmann_json_FOUND)
      list(APPEND found "nlohmann/json ${nlohmann_json_VERSION}")
    else()
      list(APPEND missing "nlohmann/json >= 3.2 (apt install nlohmann-json3-dev)")
    endif()
  endif()
  if(missing)
    list(JOIN missing "; " what)
    set(${out_found} FALSE PARENT_SCOPE)
  else()
    list(JOIN found ", " what)
    set(${out_found} TRUE PARENT_SCOPE)
  endif()
  set(${out_what} "${what}" PARENT_SCOPE)
endfunction()

set(_offkv_missing "")
foreach(_backend IN LISTS OFFKV_BACKEND_NAMES)
  set(_var OFFKV_WITH_${_backend})
  set(${_var} AUTO CACHE STRING "${_offkv_doc_${_backend}}")
  # A cache from before AUTO holds a BOOL: make it a three-way choice in cmake-gui.
  set_property(CACHE ${_var} PROPERTY TYPE STRING)
  set_property(CACHE ${_var} PROPERTY STRINGS AUTO ON OFF)
  string(TOUPPER "${${_var}}" _request)
  if(_request STREQUAL "" OR _request STREQUAL "AUTO")
    _offkv_detect_backend(${_backend} _found _what)
    if(_found)
      set(_enabled ON)
      set(OFFKV_${_backend}_REASON "AUTO, found: ${_what}")
    else()
      set(_enabled OFF)
      set(OFFKV_${_backend}_REASON "AUTO, not found: ${_what}")
      message(STATUS "offkv: ${_var}=AUTO: not building this backend, missing: ${_what}")
    endif()
  elseif(_request MATCHES "^(ON|YES|TRUE|Y|1)$")
    _offkv_detect_backend(${_backend} _found _what)
    if(NOT _found)
      string(TOLOWER ${_backend} _group)
      string(APPEND _offkv_missing
        "\n${_var}=${${_var}} but its dependencies are missing: ${_what}. "
        "Install them (or run scripts/deps.sh ${_group}), or configure with "
        "-D${_var}=AUTO (build it only if found) or -D${_var}=OFF.\n")
    endif()
    set(_enabled ON)
    set(OFFKV_${_backend}_REASON "asked on, found: ${_what}")
  elseif(_request MATCHES "^(OFF|NO|FALSE|N|0|IGNORE|NOTFOUND|.*-NOTFOUND)$")
    set(_enabled OFF)
    set(OFFKV_${_backend}_REASON "asked off: ${_var}=${${_var}}")
  else()
    message(FATAL_ERROR "${_var}='${${_var}}': expected AUTO, ON or OFF")
  endif()
  # From here on, a plain boolean for if(OFFKV_WITH_<B>).
  set(${_var} ${_enabled})
endforeach()
if(_offkv_missing)
  message(FATAL_ERROR "${_offkv_missing}")
endif()
unset(_offkv_missing)
unset(_group)
unset(_backend)
unset(_var)
unset(_request)
unset(_found)
unset(_what)
unset(_enabled)
