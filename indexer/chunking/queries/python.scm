; Definitions for chunking. A wrapper (decorated_definition) captured with the
; same @name as what it wraps wins, so decorators stay with their definition.

(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function

(decorated_definition
  definition: (class_definition name: (identifier) @name)) @definition.class
(decorated_definition
  definition: (function_definition name: (identifier) @name)) @definition.function
