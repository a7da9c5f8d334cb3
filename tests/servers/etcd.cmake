# etcd 3.4 servers (etcd.sh) as CTest fixtures and the etcd-only tests; included from
# tests/servers/CMakeLists.txt when OFFKV_WITH_ETCD is on. Label backend:etcd.
#   etcd_server   one plain member (the conformance suite runs against it)
#   etcd_cluster  three members (a client keeps working while the leader stops)
#   etcd_tls      one member with TLS (self-signed CA, client certificates) and auth
find_program(ETCD_EXECUTABLE etcd)
find_program(ETCDCTL_EXECUTABLE etcdctl)
find_program(OPENSSL_EXECUTABLE openssl)
if(NOT ETCD_EXECUTABLE OR NOT ETCDCTL_EXECUTABLE OR NOT OPENSSL_EXECUTABLE)
  # No skip: the fixtures fail loudly when the servers are missing.
  message(WARNING "etcd, etcdctl or openssl not found: the backend:etcd tests will fail "
                  "(apt-get install etcd-server etcd-client openssl)")
endif()

set(ETCD_SH ${CMAKE_CURRENT_SOURCE_DIR}/etcd.sh)
set(ETCD_DIR ${CMAKE_CURRENT_BINARY_DIR}/etcd-single)
set(ETCD_CLUSTER_DIR ${CMAKE_CURRENT_BINARY_DIR}/etcd-cluster)
set(ETCD_TLS_DIR ${CMAKE_CURRENT_BINARY_DIR}/etcd-tls)

foreach(fixture server cluster tls)
  if(fixture STREQUAL "server")
    set(dir ${ETCD_DIR})
    set(start start)
  elseif(fixture STREQUAL "cluster")
    set(dir ${ETCD_CLUSTER_DIR})
    set(start start-cluster)
  else()
    set(dir ${ETCD_TLS_DIR})
    set(start start-tls)
  endif()
  add_test(NAME etcd_${fixture}_start COMMAND ${ETCD_SH} ${start} ${dir})
  add_test(NAME etcd_${fixture}_stop COMMAND ${ETCD_SH} stop ${dir})
  set_tests_properties(etcd_${fixture}_start PROPERTIES
    FIXTURES_SETUP etcd_${fixture} LABELS "backend:etcd" TIMEOUT 120)
  set_tests_properties(etcd_${fixture}_stop PROPERTIES
    FIXTURES_CLEANUP etcd_${fixture} LABELS "backend:etcd" TIMEOUT 60)
endforeach()

add_executable(etcd_cluster_test etcd_cluster_test.cpp)
target_link_libraries(etcd_cluster_test PRIVATE offkv::offkv Catch2::Catch2WithMain)
add_test(NAME etcd_cluster_failover COMMAND etcd_cluster_test)
set_tests_properties(etcd_cluster_failover PROPERTIES
  FIXTURES_REQUIRED etcd_cluster
  LABELS "backend:etcd"
  TIMEOUT 240
  ENVIRONMENT "OFFKV_TEST_URL_FILE=${ETCD_CLUSTER_DIR}/url;ETCD_SH=${ETCD_SH};ETCD_CLUSTER_DIR=${ETCD_CLUSTER_DIR}")

add_executable(etcd_tls_auth_test etcd_tls_auth_test.cpp)
target_link_libraries(etcd_tls_auth_test PRIVATE offkv::offkv Catch2::Catch2WithMain)
add_test(NAME etcd_tls_auth COMMAND etcd_tls_auth_test)
set_tests_properties(etcd_tls_auth PROPERTIES
  FIXTURES_REQUIRED etcd_tls
  LABELS "backend:etcd"
  TIMEOUT 120
  ENVIRONMENT "ETCD_TLS_DIR=${ETCD_TLS_DIR}")

add_executable(etcd_session_test etcd_session_test.cpp)
target_link_libraries(etcd_session_test PRIVATE offkv::offkv Catch2::Catch2WithMain)
add_test(NAME etcd_session COMMAND etcd_session_test)
set_tests_properties(etcd_session PROPERTIES
  FIXTURES_REQUIRED etcd_server
  LABELS "backend:etcd"
  TIMEOUT 120
  ENVIRONMENT "OFFKV_TEST_URL_FILE=${ETCD_DIR}/url")

# The backend's native asynchronous forms, driven directly (links the core's objects,
# not liboffkv.so).
add_executable(etcd_async_test etcd_async_test.cpp)
target_link_libraries(etcd_async_test PRIVATE offkv_core Catch2::Catch2WithMain)
target_include_directories(etcd_async_test PRIVATE ${PROJECT_SOURCE_DIR}/capi)
add_test(NAME etcd_async COMMAND etcd_async_test)
set_tests_properties(etcd_async PROPERTIES
  FIXTURES_REQUIRED etcd_server
  LABELS "backend:etcd"
  TIMEOUT 60
  ENVIRONMENT "OFFKV_TEST_URL_FILE=${ETCD_DIR}/url")

add_executable(etcd_foreign_test etcd_foreign_test.cpp)
target_link_libraries(etcd_foreign_test PRIVATE offkv::offkv Catch2::Catch2WithMain)
add_test(NAME etcd_foreign_data COMMAND etcd_foreign_test)
set_tests_properties(etcd_foreign_data PROPERTIES
  FIXTURES_REQUIRED etcd_server
  LABELS "backend:etcd"
  TIMEOUT 60
  ENVIRONMENT "OFFKV_TEST_URL_FILE=${ETCD_DIR}/url")

# A process that also holds etcd's own generated code (its file and package names in
# protobuf's process-wide pool): offkv's protos must not collide with them.
find_package(Protobuf REQUIRED)
find_package(GrpcPP REQUIRED)
set(STOCK_PROTO_DIR ${CMAKE_CURRENT_SOURCE_DIR}/etcd_stock_proto)
set(STOCK_GEN_DIR ${CMAKE_CURRENT_BINARY_DIR}/etcd_stock_proto)
set(STOCK_GEN ${STOCK_GEN_DIR}/mvccpb/kv.pb.cc ${STOCK_GEN_DIR}/etcdserverpb/rpc.pb.cc
              ${STOCK_GEN_DIR}/etcdserverpb/rpc.grpc.pb.cc)
add_custom_command(OUTPUT ${STOCK_GEN}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${STOCK_GEN_DIR}
  COMMAND protobuf::protoc -I ${STOCK_PROTO_DIR} --cpp_out=${STOCK_GEN_DIR}
          --grpc_out=${STOCK_GEN_DIR} --plugin=protoc-gen-grpc=${GrpcPP_CPP_PLUGIN}
          ${STOCK_PROTO_DIR}/mvccpb/kv.proto ${STOCK_PROTO_DIR}/etcdserverpb/rpc.proto
  DEPENDS ${STOCK_PROTO_DIR}/mvccpb/kv.proto ${STOCK_PROTO_DIR}/etcdserverpb/rpc.proto
  VERBATIM)
add_executable(etcd_proto_coexist_test etcd_proto_coexist_test.cpp ${STOCK_GEN})
target_include_directories(etcd_proto_coexist_test PRIVATE ${STOCK_GEN_DIR})
target_link_libraries(etcd_proto_coexist_test PRIVATE
  offkv::offkv Catch2::Catch2WithMain GrpcPP::grpcpp protobuf::libprotobuf)
add_test(NAME etcd_proto_coexist COMMAND etcd_proto_coexist_test)
set_tests_properties(etcd_proto_coexist PROPERTIES
  FIXTURES_REQUIRED etcd_server
  LABELS "backend:etcd"
  TIMEOUT 60
  ENVIRONMENT "OFFKV_TEST_URL_FILE=${ETCD_DIR}/url")

# The conformance cases against the single member. tests/conformance/ may define
# offkv_add_conformance after this directory is processed: register at the end.
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR}/tests CALL
  offkv_servers_add_etcd_conformance)
set(OFFKV_ETCD_URL_FILE ${ETCD_DIR}/url CACHE INTERNAL "")
function(offkv_servers_add_etcd_conformance)
  if(COMMAND offkv_add_conformance)
    offkv_add_conformance(BACKEND etcd URL_FILE ${OFFKV_ETCD_URL_FILE} FIXTURES etcd_server)
  else()
    message(WARNING "offkv_add_conformance is not defined: no etcd conformance tests")
  endif()
endfunction()
