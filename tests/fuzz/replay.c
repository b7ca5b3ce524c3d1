/* replay: a main() for the libFuzzer drivers in this folder, so CTest runs
 * every saved seed through its driver on every build (with any compiler,
 * and under the sanitizers in CI). Usage: replay_NAME FILE_OR_DIR... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    uint8_t *data = NULL;
    size_t len = 0, alloc = 0, n;
    uint8_t chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n > alloc) {
            alloc = (len + n) * 2;
            uint8_t *p = realloc(data, alloc);
            if (!p) {
                free(data);
                fclose(f);
                return 1;
            }
            data = p;
        }
        memcpy(data + len, chunk, n);
        len += n;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data ? data : (const uint8_t *)"", len);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 0, failures = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                failures += replay_file(path);
                runs++;
            }
            if (d)
                closedir(d);
        } else {
            failures += replay_file(argv[i]);
            runs++;
        }
    }
    printf("%d passed, %d failed\n", runs - failures, failures);
    return failures || runs == 0;
}
