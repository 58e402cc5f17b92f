# `cpack` in a build tree makes the Debian package rs-ingester_<version>_<arch>.deb from what the
# tree already built (it builds nothing: CMAKE_SKIP_INSTALL_ALL_DEPENDENCY): the three binaries,
# their systemd units, the settings in /etc/rs-ingester, the docs, and deploy/'s monitoring files
# as examples. Maintainer scripts: deploy/package/. docs/deploying.md describes the package.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

install(TARGETS metadatastorer rsloadmanager rs_ingester RUNTIME DESTINATION bin)
install(FILES deploy/systemd/rs-ingester.service deploy/systemd/rsloadmanager.service
              deploy/systemd/metadatastorer.service
        DESTINATION /lib/systemd/system)
install(FILES deploy/package/rs-ingester.env deploy/package/rsloadmanager.env
              deploy/package/metadatastorer.env
        DESTINATION /etc/rs-ingester PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
set(RSI_DOC_DIR share/doc/rs-ingester)
install(FILES README.md DESTINATION ${RSI_DOC_DIR})
install(DIRECTORY docs/ DESTINATION ${RSI_DOC_DIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES deploy/prometheus/alerts.yml deploy/prometheus/statsd_mapping.yml
              deploy/grafana/rs_ingester.json deploy/package/rsloadmanager.json
        DESTINATION ${RSI_DOC_DIR}/examples)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rs-ingester)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "rs_ingester maintainers <rs-ingester@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "loads event files from object storage into Redshift, PostgreSQL or SQLite exactly once")
set(CPACK_PACKAGE_DESCRIPTION
    "metadatastorer records the file pointers announced on a queue in an ingester database;\n\
rsloadmanager batches them into warehouse loads exactly once, migrates table schemas and serves\n\
a control API; rs_ingester run does both in one process on a data directory. systemd units for\n\
the three are installed, neither enabled nor started.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${PROJECT_SOURCE_DIR}/deploy/package/postinst;${PROJECT_SOURCE_DIR}/deploy/package/prerm;\
${PROJECT_SOURCE_DIR}/deploy/package/postrm;${PROJECT_SOURCE_DIR}/deploy/package/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
