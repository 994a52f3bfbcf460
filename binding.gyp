{
  "targets": [
    {
      "target_name": "pm2_prom_multiproc",
      "sources": ["native/mmap.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-Wall", "-Wextra"]
    }
  ]
}
