# `cmake --install` puts the library, its headers and a package config that find_package(ringcast) reads.
include(CMakePackageConfigHelpers)

install(TARGETS ringcast EXPORT ringcastTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/ringcast DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(EXPORT ringcastTargets NAMESPACE ringcast:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringcast)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ringcastConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ringcastConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringcast)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ringcastConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ringcastConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/ringcastConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/ringcast_deps.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringcast)
