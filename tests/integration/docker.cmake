# Container test (issue 7), label "docker": tests/docker/run.sh builds docker/Dockerfile on a private
# dockerd it starts and stops itself, with a base image made by debootstrap, and runs the image
# (help, the preflight's refusals and passes, no compiler inside, the catalogue with reports on
# /out and the real-kernel scenarios, verdicts compared with the host's). Its rootfs and layer cache
# live in /var/cache/fsynclab-docker; the build takes seconds when nothing changed, 25-60 s after a
# source change, 80 s from nothing (idle machine), plus the catalogue twice; runs take turns.
# Exit 77 = skipped, with the reason (not root, no /dev/fuse, no cgroup filesystem as in a bare chroot,
# docker.io/debootstrap not installable).
fsynclab_script_test(docker_image_builds_and_runs docker ${CMAKE_SOURCE_DIR}/tests/docker/run.sh)
set_tests_properties(docker_image_builds_and_runs PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 1200)
