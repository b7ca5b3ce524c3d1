/* errors: the models module's error codes in words. */
#include "models/models.h"

const char *models_strerror(int code)
{
    switch (code) {
    case MODELS_OK: return "ok";
    case MODELS_ERR_NAME: return "unknown or invalid model name";
    case MODELS_ERR_NOT_INSTALLED: return "model not installed";
    case MODELS_ERR_CATALOG: return "bad model catalog file";
    case MODELS_ERR_IO: return "file-system error";
    case MODELS_ERR_NETWORK: return "network error";
    case MODELS_ERR_HTTP: return "HTTP error";
    case MODELS_ERR_VERIFY: return "downloaded model failed verification";
    case MODELS_ERR_UNVERIFIABLE: return "no SHA-1 known for the model";
    case MODELS_ERR_CANCELLED: return "cancelled";
    case MODELS_ERR_BUSY: return "model is being downloaded by another process";
    case MODELS_ERR_NOMEM: return "out of memory";
    case MODELS_ERR_AUTH: return "Hugging Face credentials missing or rejected";
    case MODELS_ERR_FORBIDDEN: return "model conditions not accepted for this token";
    case MODELS_ERR_INSECURE: return "hub URL refused: not https";
    case MODELS_ERR_TOKEN_REQUIRED: return "Hugging Face token required";
    default: return "unknown error";
    }
}
