# Writes OUT, a C++ source that defines ledger::projections::Migrations() from
# the NNN_name.sql files in SQL_DIR, so the binary carries its schema.
file(GLOB files "${SQL_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME_WE)
  string(REGEX MATCH "^([0-9]+)_" _ "${name}")
  if(NOT CMAKE_MATCH_1)
    message(FATAL_ERROR "migration ${f} is not named NNN_name.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ "${f}" sql)
  string(FIND "${sql}" ")ledger_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${f} contains the raw-string delimiter )ledger_sql\"")
  endif()
  string(APPEND body "      {${version}, \"${name}\", R\"ledger_sql(${sql})ledger_sql\"},\n")
endforeach()
file(WRITE "${OUT}" "// Generated from schemas/sql by embed_migrations.cmake. Do not edit.
#include \"projections/migrations.h\"

namespace ledger::projections {

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
${body}  };
  return kMigrations;
}

}  // namespace ledger::projections
")
