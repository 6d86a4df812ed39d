/* pipe_common.h - what pipe_child.exe writes and pipe_parent.exe expects. Written for ipcemu. */
#ifndef IPCEMU_WIN32_PIPE_COMMON_H
#define IPCEMU_WIN32_PIPE_COMMON_H
#define PIPE_CHILD_LINES "child line 1: hello through an anonymous pipe\n" \
                         "child line 2: 0123456789abcdefghijklmnopqrstuvwxyz\n" \
                         "child line 3: the end\n"
#endif
