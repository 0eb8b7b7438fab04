# Container checks (issue 5): the Dockerfile against the binary's shared
# libraries, the README's build, and a live HEALTHCHECK. Not under the
# sanitizers: their runtimes are libraries no image ships.
if(NOT QTRIAGE_SANITIZE)
  add_test(NAME container_image
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy/container_test.sh ${PROJECT_SOURCE_DIR}
            $<TARGET_FILE:qtriage> $<TARGET_FILE:qtriage-sim>)
  set_tests_properties(container_image PROPERTIES LABELS deploy TIMEOUT 120)
endif()
