# kubernetes deployment checks (issue 5): registered with CTest, label "deploy".
# Renders deploy/kubernetes with kubectl kustomize (SKIP line if kubectl is
# missing), validates it offline with ../shared/k8s-schemas, and runs
# `qtriage check` on the ConfigMap's config and rules laid out as in the pod.
add_test(NAME kubernetes_manifests
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/deploy/kubernetes_manifests_test.sh
          ${PROJECT_SOURCE_DIR} $<TARGET_FILE:qtriage>)
set_tests_properties(kubernetes_manifests PROPERTIES LABELS deploy TIMEOUT 120)
