; Definitions for chunking. `template <...>` wraps what it declares; an
; out-of-class `Foo::bar` definition is a method named `Foo.bar`.

(function_definition
  declarator: [
    (function_declarator declarator: [(identifier) (field_identifier) (operator_name) (destructor_name)] @name)
    (pointer_declarator declarator: (function_declarator declarator: [(identifier) (field_identifier)] @name))
    (reference_declarator (function_declarator declarator: [(identifier) (field_identifier)] @name))
  ]) @definition.function
(function_definition
  declarator: [
    (function_declarator declarator: (qualified_identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (qualified_identifier) @name))
    (reference_declarator (function_declarator declarator: (qualified_identifier) @name))
  ]) @definition.method

(class_specifier name: (_) @name body: (field_declaration_list)) @definition.class
(struct_specifier name: (_) @name body: (field_declaration_list)) @definition.class
(union_specifier name: (_) @name body: (field_declaration_list)) @definition.class
(enum_specifier name: (_) @name body: (enumerator_list)) @definition.class
(namespace_definition name: (_) @name body: (declaration_list)) @definition.module

(template_declaration
  (function_definition
    declarator: (function_declarator declarator: [(identifier) (field_identifier) (qualified_identifier)] @name))) @definition.function
(template_declaration (class_specifier name: (_) @name body: (field_declaration_list))) @definition.class
(template_declaration (struct_specifier name: (_) @name body: (field_declaration_list))) @definition.class
