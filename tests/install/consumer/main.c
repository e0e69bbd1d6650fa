/* Uses only the public header through bitnet::bitnet: prints the library
 * version and where the installed tree keeps its bundled model. */
#include <bitnet/bitnet.h>
#include <stdio.h>

int main(void) {
    char path[4096];
    printf("version %s\n", bn_version());
    if (bn_default_model_path(path, sizeof path) != BN_OK) {
        fprintf(stderr, "no default model: %s\n", bn_last_error());
        return 1;
    }
    printf("model %s\n", path);
    return 0;
}
