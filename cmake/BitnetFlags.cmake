# Warnings and sanitizers shared by every target in the tree.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter)
if(BITNET_WERROR)
  add_compile_options(-Werror)
endif()
if(BITNET_SANITIZE)
  # -O1: the suite's model-sized tests take minutes at -O0 under ASan;
  # reports stay exact (frame pointers kept, no inlining surprises at -O1).
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -O1)
  add_link_options(-fsanitize=address,undefined)
endif()
