# kubernetes deployment checks (issue 5): registered with CTest, label "deploy".
