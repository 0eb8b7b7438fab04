# Run by `cmake --install` (install(SCRIPT) in CMakeLists.txt), so that the
# prefix is the one given at install time (`--prefix /usr`), not the one the
# build was configured with.
#   - the systemd unit, its paths rewritten for the prefix (the source file
#     is written for a packager's /usr: /usr/bin/qtriage and /etc/qtriage);
#   - the config and the starter rules in /etc/qtriage (prefix /usr) or
#     PREFIX/etc/qtriage, never over files already there: an upgrade keeps
#     the operator's edits and puts the shipped version beside as *.dist.
# QTRIAGE_SOURCE_DIR is set by the install(CODE) line before this script.

set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(confdir "/etc/qtriage")
else()
  set(confdir "${prefix}/etc/qtriage")
endif()

file(READ "${QTRIAGE_SOURCE_DIR}/systemd/qtriage.service" unit)
string(REPLACE "/usr/bin/qtriage" "${prefix}/bin/qtriage" unit "${unit}")
string(REPLACE "/etc/qtriage" "${confdir}" unit "${unit}")
set(staged "${CMAKE_CURRENT_BINARY_DIR}/install-staging")
file(MAKE_DIRECTORY "${staged}")
file(WRITE "${staged}/qtriage.service" "${unit}")
file(INSTALL "${staged}/qtriage.service" DESTINATION "${prefix}/lib/systemd/system")

# file(INSTALL) puts DESTDIR in front of absolute destinations; EXISTS does not.
function(install_config source destination name)
  if(EXISTS "$ENV{DESTDIR}${destination}/${name}")
    file(INSTALL "${source}" DESTINATION "${destination}" RENAME "${name}.dist")
    message(STATUS "Kept: ${destination}/${name} (yours); the shipped one is ${name}.dist")
  else()
    file(INSTALL "${source}" DESTINATION "${destination}" RENAME "${name}")
  endif()
endfunction()

install_config("${QTRIAGE_SOURCE_DIR}/systemd/qtriage.yaml" "${confdir}" qtriage.yaml)
file(GLOB rules "${QTRIAGE_SOURCE_DIR}/rules/*.yaml")
foreach(rule ${rules})
  get_filename_component(name "${rule}" NAME)
  install_config("${rule}" "${confdir}/rules" "${name}")
endforeach()
