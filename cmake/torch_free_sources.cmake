# Marks the sources that never include libtorch (directly or through src/ headers) with
# SKIP_PRECOMPILE_HEADERS: loading the torch PCH alone costs ~14 s per file on a 2-core machine, and
# about 80 of lethe's files (text, datagen, metrics, report, ...) do not need it.
# The scan runs at configure time; a file that starts using torch later just compiles without the PCH
# (slower, still correct) until the next configure.

# Sets ${out} to TRUE when ${path} includes torch/ATen/c10, names torch:: / at:: / c10::, or includes a
# header under src/ or tests/ (or beside it) that does. Results are memoised in global properties.
function(lethe_uses_torch path out)
  get_property(known GLOBAL PROPERTY "lethe_torch_${path}" SET)
  if(known)
    get_property(value GLOBAL PROPERTY "lethe_torch_${path}")
    set(${out} ${value} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "lethe_torch_${path}" FALSE)  # breaks include cycles
  file(READ "${path}" text)
  set(value FALSE)
  if(text MATCHES "#include[ \t]*<(torch|ATen|c10)/" OR text MATCHES "(^|[^a-zA-Z_:])(torch|at|c10)::")
    set(value TRUE)
  else()
    string(REGEX MATCHALL "#include[ \t]*\"[^\"]+\"" includes "${text}")
    foreach(line ${includes})
      string(REGEX REPLACE "#include[ \t]*\"([^\"]+)\"" "\\1" header "${line}")
      get_filename_component(here "${path}" DIRECTORY)
      foreach(dir "${CMAKE_CURRENT_SOURCE_DIR}/src" "${CMAKE_CURRENT_SOURCE_DIR}/tests" "${here}")
        if(EXISTS "${dir}/${header}")
          lethe_uses_torch("${dir}/${header}" header_uses)
          if(header_uses)
            set(value TRUE)
          endif()
          break()
        endif()
      endforeach()
      if(value)
        break()
      endif()
    endforeach()
  endif()
  set_property(GLOBAL PROPERTY "lethe_torch_${path}" ${value})
  set(${out} ${value} PARENT_SCOPE)
endfunction()

function(lethe_skip_pch_for_torch_free_sources)
  foreach(source ${ARGN})
    lethe_uses_torch("${CMAKE_CURRENT_SOURCE_DIR}/${source}" uses)
    if(NOT uses)
      set_source_files_properties(${source} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
