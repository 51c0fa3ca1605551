; Definitions for chunking.

(class_definition name: (identifier) @name) @definition.class
(object_definition name: (identifier) @name) @definition.class
(trait_definition name: (identifier) @name) @definition.class
(enum_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
