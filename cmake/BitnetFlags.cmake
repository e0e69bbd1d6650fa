# Warnings and sanitizers shared by every target in the tree (C; CUDA
# sources of the cuda plugin get the host compiler's warnings through nvcc).
add_compile_options("$<$<COMPILE_LANGUAGE:C>:-Wall;-Wextra;-Wshadow;-Wstrict-prototypes;-Wno-unused-parameter>"
                    "$<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>")
if(BITNET_WERROR)
  add_compile_options("$<$<COMPILE_LANGUAGE:C>:-Werror>" "$<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings;-Xcompiler=-Werror>")
endif()
if(BITNET_SANITIZE)
  # -O1: the suite's model-sized tests take minutes at -O0 under ASan;
  # reports stay exact (frame pointers kept, no inlining surprises at -O1).
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1)
  add_link_options(-fsanitize=address,undefined)
endif()
