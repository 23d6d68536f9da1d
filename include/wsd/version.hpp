#pragma once
// The library's version.
#define WSD_VERSION_MAJOR 0
#define WSD_VERSION_MINOR 1
#define WSD_VERSION_PATCH 0
#define WSD_VERSION_STRING "0.1.0"
