# Warnings and sanitizers shared by every target in the tree.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter)
if(BITNET_WERROR)
  add_compile_options(-Werror)
endif()
if(BITNET_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
