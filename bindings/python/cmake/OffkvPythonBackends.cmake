# Decides which remote backends the Python package compiles into liboffkv.
#
#   offkv_python_backends(<out-var>)
#
# For each of OFFKV_WITH_ZK / OFFKV_WITH_ETCD / OFFKV_WITH_CONSUL:
#   ON          compiled in; the root project's find_package(... REQUIRED) fails the
#               build if its libraries are missing (an explicit request is honoured
#               or refused, never dropped);
#   OFF         compiled out;
#   AUTO / ""   (the default) ON exactly when the libraries core/CMakeLists.txt needs
#               for it are found, looked up with the same find modules.
# Sets OFFKV_WITH_<B> to ON/OFF as normal variables in the caller's scope, prints one
# status line per backend saying what was decided and why, and sets <out-var> to the
# schemes that will be compiled in ("mem;zk;etcd;consul").
#
# Needs ${OFFKV_ROOT}/cmake in CMAKE_MODULE_PATH (FindZooKeeper, FindGrpcPP).

# The libraries core/CMakeLists.txt links for each backend; found quietly here.
# <out-found> TRUE/FALSE; <out-what> what was found, or what is missing (with the
# Debian packages providing it, as scripts/deps.sh installs them).
function(_offkv_python_detect backend out_found out_what)
  set(missing "")
  set(found "")
  if(backend STREQUAL "ZK")
    find_package(ZooKeeper 3.5 QUIET)
    if(ZooKeeper_FOUND)
      list(APPEND found "ZooKeeper C client ${ZooKeeper_VERSION} (${ZooKeeper_LIBRARY})")
    else()
      list(APPEND missing "ZooKeeper C client >= 3.5 [libzookeeper-mt-dev]")
    endif()
  elseif(backend STREQUAL "ETCD")
    find_package(Protobuf QUIET)
    if(Protobuf_FOUND AND TARGET protobuf::protoc)
      list(APPEND found "Protobuf ${Protobuf_VERSION}")
    else()
      list(APPEND missing "Protobuf and protoc [libprotobuf-dev protobuf-compiler]")
    endif()
    find_package(GrpcPP QUIET)
    if(GrpcPP_FOUND)
      list(APPEND found "gRPC C++ ${GrpcPP_VERSION}")
    else()
      list(APPEND missing "gRPC C++ and grpc_cpp_plugin [libgrpc++-dev protobuf-compiler-grpc]")
    endif()
  elseif(backend STREQUAL "CONSUL")
    find_package(CURL QUIET)
    if(CURL_FOUND)
      list(APPEND found "libcurl ${CURL_VERSION_STRING}")
    else()
      list(APPEND missing "libcurl [libcurl4-openssl-dev]")
    endif()
    find_package(nlohmann_json 3.2 QUIET)
    if(nlohmann_json_FOUND)
      list(APPEND found "nlohmann/json ${nlohmann_json_VERSION}")
    else()
      list(APPEND missing "nlohmann/json >= 3.2 [nlohmann-json3-dev]")
    endif()
  endif()
  if(missing)
    list(JOIN missing ", " what)
    set(${out_found} FALSE PARENT_SCOPE)
  else()
    list(JOIN found ", " what)
    set(${out_found} TRUE PARENT_SCOPE)
  endif()
  set(${out_what} "${what}" PARENT_SCOPE)
endfunction()

function(offkv_python_backends out_var)
  set(built mem)
  foreach(backend ZK ETCD CONSUL)
    string(TOLOWER "${backend}" scheme)
    set(var OFFKV_WITH_${backend})
    string(TOUPPER "${${var}}" request)
    if(request STREQUAL "" OR request STREQUAL "AUTO")
      _offkv_python_detect(${backend} found what)
      if(found)
        set(enabled ON)
        set(why "found: ${what}")
      else()
        set(enabled OFF)
        set(why "not found: ${what}; set ${var}=ON to make that an error")
      endif()
    elseif(${var})
      set(enabled ON)
      set(why "${var}=${${var}}: required")
    else()
      set(enabled OFF)
      set(why "${var}=${${var}}")
    endif()
    set(${var} ${enabled} PARENT_SCOPE)
    if(enabled)
      list(APPEND built ${scheme})
      message(STATUS "offkv python: ${scheme}: yes (${why})")
    else()
      message(STATUS "offkv python: ${scheme}: no (${why})")
    endif()
  endforeach()
  set(${out_var} "${built}" PARENT_SCOPE)
endfunction()
