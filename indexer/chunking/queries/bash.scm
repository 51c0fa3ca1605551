; Definitions for chunking: shell functions; everything else is a script block.

(function_definition name: (word) @name) @definition.function
