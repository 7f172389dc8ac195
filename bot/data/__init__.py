"""Files the installed package carries: the seed story (`storybot demo`) and the commented
config (`storybot init`). They are links to `seeds/` and `config.example.toml` at the top of
the repository, so there is one copy to edit; a built wheel holds the files themselves."""
