# docs.cmake: builds the /docs page of `cesar serve` into the build tree.
#
# The page is our own index.html and init.js (web/docs/) plus Swagger UI's
# stylesheet and bundle, which come from the npm registry: web/docs pins
# swagger-ui-dist at an exact version and commits package-lock.json, so
# `npm ci` fetches exactly those bytes (the lock's integrity hashes are
# checked) and runs no package scripts. The result is laid out as
#
#   ${CMAKE_BINARY_DIR}/docs/site/index.html   served as /docs
#   ${CMAKE_BINARY_DIR}/docs/site/init.js      served as /docs/init.js
#   ${CMAKE_BINARY_DIR}/docs/site/assets/*     served as /docs/assets/*
#
# and `cesar serve` finds it through the compile definition CESAR_DOCS_DIR. The
# npm step reruns only when web/docs/package.json, package-lock.json,
# index.html or init.js change (a stamp file is the custom command's output).
#
# Include this after the `cesar` and `cesar_cli` targets are defined.

find_program(CESAR_NPM npm)
if(NOT CESAR_NPM)
  message(FATAL_ERROR
    "npm was not found. The API docs page (/docs) installs Swagger UI from the "
    "npm registry at build time. Run scripts/install-deps.sh (it installs "
    "nodejs and npm when they are missing), then configure again.")
endif()

set(CESAR_DOCS_SOURCE_DIR ${CMAKE_SOURCE_DIR}/web/docs)
set(CESAR_DOCS_WORK_DIR ${CMAKE_BINARY_DIR}/docs)
set(CESAR_DOCS_SITE_DIR ${CESAR_DOCS_WORK_DIR}/site)
set(CESAR_DOCS_STAMP ${CESAR_DOCS_WORK_DIR}/site.stamp)
# The npm package's files the page uses; the rest of swagger-ui-dist (source
# maps, ES bundles, its own sample index) is left out of the site.
set(CESAR_DOCS_NPM_ASSETS
  ${CESAR_DOCS_WORK_DIR}/node_modules/swagger-ui-dist/swagger-ui.css
  ${CESAR_DOCS_WORK_DIR}/node_modules/swagger-ui-dist/swagger-ui-bundle.js
  ${CESAR_DOCS_WORK_DIR}/node_modules/swagger-ui-dist/favicon-32x32.png
  ${CESAR_DOCS_WORK_DIR}/node_modules/swagger-ui-dist/favicon-16x16.png)
set(CESAR_DOCS_INPUTS
  ${CESAR_DOCS_SOURCE_DIR}/package.json
  ${CESAR_DOCS_SOURCE_DIR}/package-lock.json
  ${CESAR_DOCS_SOURCE_DIR}/index.html
  ${CESAR_DOCS_SOURCE_DIR}/init.js)

file(MAKE_DIRECTORY ${CESAR_DOCS_WORK_DIR})

# The site directory is rebuilt from scratch each time, so a file dropped from
# the list above does not linger. SCARF_ANALYTICS=false is belt and braces:
# --ignore-scripts already keeps swagger-ui-dist's telemetry dependency from
# running its install script.
add_custom_command(
  OUTPUT ${CESAR_DOCS_STAMP}
  COMMAND ${CMAKE_COMMAND} -E copy
          ${CESAR_DOCS_SOURCE_DIR}/package.json ${CESAR_DOCS_SOURCE_DIR}/package-lock.json
          ${CESAR_DOCS_WORK_DIR}
  COMMAND ${CMAKE_COMMAND} -E env SCARF_ANALYTICS=false npm_config_update_notifier=false
          ${CESAR_NPM} ci --ignore-scripts --no-audit --no-fund
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${CESAR_DOCS_SITE_DIR}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CESAR_DOCS_SITE_DIR}/assets
  COMMAND ${CMAKE_COMMAND} -E copy
          ${CESAR_DOCS_SOURCE_DIR}/index.html ${CESAR_DOCS_SOURCE_DIR}/init.js
          ${CESAR_DOCS_SITE_DIR}
  COMMAND ${CMAKE_COMMAND} -E copy ${CESAR_DOCS_NPM_ASSETS} ${CESAR_DOCS_SITE_DIR}/assets
  COMMAND ${CMAKE_COMMAND} -E touch ${CESAR_DOCS_STAMP}
  DEPENDS ${CESAR_DOCS_INPUTS}
  WORKING_DIRECTORY ${CESAR_DOCS_WORK_DIR}
  COMMENT "Installing Swagger UI from npm for the /docs page"
  VERBATIM)
add_custom_target(cesar_docs ALL DEPENDS ${CESAR_DOCS_STAMP})
add_dependencies(cesar cesar_docs)

# `cesar serve` (src/cli/cmd_serve.c, in cesar_cli) serves /docs from here
# unless the CESAR_DOCS_DIR environment variable names another directory; a
# binary built without it answers 503 docs_unavailable.
target_compile_definitions(cesar_cli PRIVATE CESAR_DOCS_DIR="${CESAR_DOCS_SITE_DIR}")
