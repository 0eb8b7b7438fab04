# systemd deployment checks (issue 5): the unit's security score, the
# install layout and the installed config. The notify protocol itself is
# tested from the binary in tests/integration/service_notify_test.cpp.
add_test(NAME systemd_unit
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy/systemd_unit_test.sh ${PROJECT_SOURCE_DIR}
          ${PROJECT_BINARY_DIR})
set_tests_properties(systemd_unit PROPERTIES LABELS deploy TIMEOUT 120)
