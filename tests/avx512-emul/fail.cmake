# A test that fails with MSG (a dependency of the test is missing).
message(FATAL_ERROR "${MSG}")
