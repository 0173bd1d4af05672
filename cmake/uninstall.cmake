# make uninstall: removes every file the last `cmake --install` wrote (MANIFEST; its paths are
# without DESTDIR, so give the same DESTDIR as to the install), then the directories that only
# xdpctl fills (include/xdpctl, lib/xdpctl, lib/cmake/xdpctl) once empty; shared ones (bin,
# lib, share/man...) stay.
#
#   DESTDIR=... cmake -DMANIFEST=build/install_manifest.txt -P cmake/uninstall.cmake
file(STRINGS "${MANIFEST}" installed)
set(files)
foreach(f ${installed})
	list(APPEND files "$ENV{DESTDIR}${f}")
endforeach()
set(dirs)
foreach(f ${files})
	if(EXISTS "${f}" OR IS_SYMLINK "${f}")
		message(STATUS "remove ${f}")
		file(REMOVE "${f}")
	endif()
	# the file's directory when it is an xdpctl/ one, or one level below it (xdpctl/bpf)
	get_filename_component(d "${f}" DIRECTORY)
	get_filename_component(up "${d}" DIRECTORY)
	get_filename_component(name "${d}" NAME)
	get_filename_component(upname "${up}" NAME)
	if(name STREQUAL "xdpctl")
		list(APPEND dirs "${d}")
	elseif(upname STREQUAL "xdpctl")
		list(APPEND dirs "${d}" "${up}")
	endif()
endforeach()
list(REMOVE_DUPLICATES dirs)
# deepest first
list(SORT dirs ORDER DESCENDING)
foreach(d ${dirs})
	file(GLOB left "${d}/*")
	if(IS_DIRECTORY "${d}" AND NOT left)
		file(REMOVE_RECURSE "${d}")
	endif()
endforeach()
file(REMOVE "${MANIFEST}")
