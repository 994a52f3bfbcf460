{
  "make_global_settings": [["LINK", "$(CC.target)"]],
  "targets": [
    {
      "target_name": "pm2_prom_multiproc",
      "sources": ["native/mmap.c"],
      "cflags_c": ["-std=c11"]
    }
  ]
}
