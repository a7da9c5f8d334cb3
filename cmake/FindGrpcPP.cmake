# Finds gRPC C++ (e.g. Debian libgrpc++-dev + protobuf-compiler-grpc) through its
# pkg-config file, which works where the distribution's gRPCConfig.cmake drags in
# dependencies it does not ship.
#   GrpcPP_FOUND, GrpcPP_VERSION, GrpcPP_CPP_PLUGIN (grpc_cpp_plugin)
#   Imported target: GrpcPP::grpcpp (grpc++ and everything it needs)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_GRPCPP QUIET IMPORTED_TARGET grpc++)
endif()
find_program(GrpcPP_CPP_PLUGIN NAMES grpc_cpp_plugin)
set(GrpcPP_VERSION "${PC_GRPCPP_VERSION}")

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(GrpcPP
  REQUIRED_VARS PC_GRPCPP_FOUND GrpcPP_CPP_PLUGIN
  VERSION_VAR GrpcPP_VERSION)

if(GrpcPP_FOUND AND NOT TARGET GrpcPP::grpcpp)
  add_library(GrpcPP::grpcpp INTERFACE IMPORTED)
  target_link_libraries(GrpcPP::grpcpp INTERFACE PkgConfig::PC_GRPCPP)
endif()
mark_as_advanced(GrpcPP_CPP_PLUGIN)
