; Definitions for chunking. This grammar has no `name:` fields: the name is the
; first identifier child.

(class_declaration . (modifiers)? . ["class" "interface" "enum"]? (type_identifier) @name) @definition.class
(object_declaration (type_identifier) @name) @definition.class
(function_declaration (simple_identifier) @name) @definition.function
