# Consul fixtures and tests (label backend:consul), included from CMakeLists.txt when
# OFFKV_WITH_CONSUL is on. The agent is the real Consul, built from the Go module
# proxy by consul-build.sh (tests/tools/consul pins the release); the build is itself
# a fixture, so `ctest -L backend:consul` alone builds (or finds in its cache), starts,
# uses and stops everything.
set(CONSUL_SH ${CMAKE_CURRENT_SOURCE_DIR}/consul.sh)
set(CONSUL_BUILD_SH ${CMAKE_CURRENT_SOURCE_DIR}/consul-build.sh)
set(CONSUL_DIR ${CMAKE_CURRENT_BINARY_DIR}/consul-dev)
set(CONSUL_CLUSTER_DIR ${CMAKE_CURRENT_BINARY_DIR}/consul-cluster)
set(CONSUL_TLS_DIR ${CMAKE_CURRENT_BINARY_DIR}/consul-tls)

# A cold build (module downloads + compile, go build -p 2) takes ~10 minutes.
add_test(NAME consul_build COMMAND ${CONSUL_BUILD_SH})
set_tests_properties(consul_build PROPERTIES
  FIXTURES_SETUP consul_binary LABELS "backend:consul" TIMEOUT 3600)

foreach(kind server cluster tls)
  if(kind STREQUAL "server")
    set(dir ${CONSUL_DIR})
    set(start start)
  elseif(kind STREQUAL "cluster")
    set(dir ${CONSUL_CLUSTER_DIR})
    set(start start-cluster)
  else()
    set(dir ${CONSUL_TLS_DIR})
    set(start start-tls)
  endif()
  add_test(NAME consul_${kind}_start COMMAND ${CONSUL_SH} ${start} ${dir})
  add_test(NAME consul_${kind}_stop COMMAND ${CONSUL_SH} stop ${dir})
  set_tests_properties(consul_${kind}_start PROPERTIES
    FIXTURES_SETUP consul_${kind} FIXTURES_REQUIRED consul_binary
    LABELS "backend:consul" TIMEOUT 300)
  set_tests_properties(consul_${kind}_stop PROPERTIES
    FIXTURES_CLEANUP consul_${kind} LABELS "backend:consul" TIMEOUT 120)
endforeach()

# Two runs of one binary on the one cluster, never at the same time (RESOURCE_LOCK):
# offkv through failovers, and the script's stop-member/start-member ([script]:
# ports outside the ephemeral range, a member removed by autopilot back as a voter,
# repeated restarts; docs/consul-notes.md).
add_executable(consul_cluster_test consul_cluster_test.cpp)
target_link_libraries(consul_cluster_test PRIVATE offkv::offkv Catch2::Catch2)
add_test(NAME consul_cluster_failover COMMAND consul_cluster_test "~[script]")
add_test(NAME consul_cluster_restart COMMAND consul_cluster_test "[script]")
set_tests_properties(consul_cluster_failover consul_cluster_restart PROPERTIES
  FIXTURES_REQUIRED consul_cluster
  RESOURCE_LOCK consul_cluster
  LABELS "backend:consul"
  TIMEOUT 300
  ENVIRONMENT "CONSUL_SH=${CONSUL_SH};CONSUL_CLUSTER_DIR=${CONSUL_CLUSTER_DIR}")

add_executable(consul_tls_test consul_tls_test.cpp)
target_link_libraries(consul_tls_test PRIVATE offkv::offkv Catch2::Catch2)
add_test(NAME consul_tls_acl COMMAND consul_tls_test)
set_tests_properties(consul_tls_acl PROPERTIES
  FIXTURES_REQUIRED consul_tls
  LABELS "backend:consul"
  TIMEOUT 180
  ENVIRONMENT "CONSUL_TLS_DIR=${CONSUL_TLS_DIR}")

# Foreign data in offkv's layout (written with curl, as another Consul client would).
add_executable(consul_foreign_test consul_foreign_test.cpp)
target_link_libraries(consul_foreign_test PRIVATE offkv::offkv Catch2::Catch2)
add_test(NAME consul_foreign_data COMMAND consul_foreign_test)
set_tests_properties(consul_foreign_data PROPERTIES
  FIXTURES_REQUIRED consul_server
  LABELS "backend:consul"
  TIMEOUT 60
  ENVIRONMENT "OFFKV_TEST_URL_FILE=${CONSUL_DIR}/url")

# The conformance cases against the dev-mode agent, registered once tests/conformance
# has defined offkv_add_conformance (deferred to the end of tests/).
set(OFFKV_CONSUL_URL_FILE ${CONSUL_DIR}/url CACHE INTERNAL "")
function(offkv_servers_add_consul_conformance)
  if(COMMAND offkv_add_conformance)
    offkv_add_conformance(BACKEND consul URL_FILE ${OFFKV_CONSUL_URL_FILE}
                          FIXTURES consul_server)
  else()
    message(WARNING "offkv_add_conformance is not defined: no consul conformance tests")
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR}/tests CALL
  offkv_servers_add_consul_conformance)
